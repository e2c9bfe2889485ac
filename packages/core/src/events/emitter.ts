import { ObservableV2 } from 'lib0/observable';

/**
 * An emitter's events: each name maps to its listener's signature, e.g.
 * `{ change: (e: ChangeEvent) => void }`. The same constraint as lib0's ObservableV2.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- lib0's constraint, so any listener signature fits
export type EventMap<E> = { [K in keyof E]: (...args: any[]) => void };

/**
 * What an object that emits offers its users: typed `on`/`once`/`off`, as Yjs and lib0 name them.
 * `on` returns the listener; pass the same function to `off` to unsubscribe. Adding a listener
 * twice registers it once. A listener added during an emit hears the next event, not that one;
 * one removed during an emit still hears that one.
 */
export interface Observable<E extends EventMap<E>> {
  on<K extends keyof E & string>(name: K, listener: E[K]): E[K];
  /** Calls `listener` for the next `name` event only. */
  once<K extends keyof E & string>(name: K, listener: E[K]): void;
  off<K extends keyof E & string>(name: K, listener: E[K]): void;
}

export interface EmitterOptions {
  /**
   * Isolates listeners from each other: a listener's error is handed here and the remaining
   * listeners still hear the event. Without it, the first error ends the emit and propagates to
   * the code that emitted (see `Emitter`).
   */
  readonly onListenerError?: (error: unknown, event: string) => void;
  /**
   * Called when the emitter gains its first listener (`true`) and loses its last (`false`), so an
   * emitter that relays another holds its source's subscription only while someone listens.
   */
  readonly observed?: (observed: boolean) => void;
}

/**
 * Meshwork's one event mechanism: lib0's ObservableV2 (what Yjs uses), with a listener's error
 * handled as decided per emitter. Listeners run synchronously, in the order they were added.
 *
 * A listener that throws never breaks the emitter: every listener stays registered and the next
 * event reaches all of them. What happens to the event it threw on depends on the emitter:
 * - without `onListenerError` (the default), that emit ends and the error propagates to the caller
 *   that caused it, so a listener can veto (a Document's persistence refuses an undurable event:
 *   the mutation fails and no later listener gossips it);
 * - with `onListenerError`, the other listeners still hear the event and the error goes to the
 *   handler (for feeds that must not fail their source: presence, mesh metrics).
 */
export class Emitter<E extends EventMap<E>> extends ObservableV2<E> implements Observable<E> {
  readonly #onListenerError: EmitterOptions['onListenerError'];
  readonly #observed: EmitterOptions['observed'];

  constructor(options: EmitterOptions = {}) {
    super();
    this.#onListenerError = options.onListenerError;
    this.#observed = options.observed;
  }

  override on<K extends keyof E & string>(name: K, listener: E[K]): E[K] {
    const first = this._observers.size === 0;
    super.on(name, listener);
    if (first) this.#observed?.(true);
    return listener;
  }

  override off<K extends keyof E & string>(name: K, listener: E[K]): void {
    const had = this._observers.size > 0;
    super.off(name, listener);
    // lib0 drops an event's entry with its last listener.
    if (had && this._observers.size === 0) this.#observed?.(false);
  }

  override emit<K extends keyof E & string>(name: K, args: Parameters<E[K]>): void {
    const onError = this.#onListenerError;
    if (onError === undefined) return super.emit(name, args);
    // A copy, as lib0 takes: listeners added while it runs hear the next event.
    for (const listener of [...(this._observers.get(name) ?? [])] as E[K][]) {
      try {
        listener(...args);
      } catch (error) {
        onError(error, name);
      }
    }
  }

  /** Whether `name` has listeners: an emitter can skip building an event nobody hears. */
  listens(name: keyof E & string): boolean {
    return (this._observers.get(name)?.size ?? 0) > 0;
  }

  /** The subscription half alone, to hand out or spread into a factory-made object. */
  observable(): Observable<E> {
    return {
      on: (name, listener) => this.on(name, listener),
      once: (name, listener) => this.once(name, listener),
      off: (name, listener) => this.off(name, listener),
    };
  }
}
