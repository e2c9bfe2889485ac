import type { DecodeLimits } from '../codec/limits.ts';
import { CausalContext } from '../causal/causal-context.ts';
import { removeKeys, type Causal } from '../causal/causal-state.ts';
import { DotMap, countDots, load, type DotStore } from '../causal/dot-store.ts';
import { emptyStore, type StoreKind } from '../causal/store-kind.ts';
import type { HLC } from '../clock/hlc.ts';
import type { ReplicaId } from '../replica.ts';
import { checkRoom, checkString } from './check.ts';
import type { MutationSink } from './mutation-sink.ts';
import { Handle } from './handle.ts';

/** ORMap state: key → the nested value's dot store, all under one causal context. */
export type ORMapState = Causal<DotMap<DotStore>>;

/** Builds the handle of a nested value over its (view of the) causal state. */
export type NestedHandleFactory<H> = (state: Causal, sink: MutationSink<Causal>) => H;

/** Wraps a nested value's delta as a delta of the map that holds it under `key`. */
function wrapDelta(key: string, delta: Causal): ORMapState {
  const store = new DotMap<DotStore>(true);
  store.entries.set(key, delta.store);
  return { store, ctx: delta.ctx };
}

/**
 * The causal state of the value under `key`, as seen through its parent map: the
 * parent's current store for the key, or an empty one while the key is absent. Nested
 * mutators only read it; their deltas reach the map through the parent's sink.
 */
class NestedState implements Causal {
  private readonly parent: Causal<DotMap<DotStore>>;
  private readonly key: string;
  private readonly kind: StoreKind;
  private detached: DotStore | undefined;

  constructor(parent: Causal<DotMap<DotStore>>, key: string, kind: StoreKind) {
    this.parent = parent;
    this.key = key;
    this.kind = kind;
  }

  get ctx(): CausalContext {
    return this.parent.ctx;
  }

  get store(): DotStore {
    // Values of a map are never lone DotSets, so `load` only narrows the type here.
    const attached = this.parent.store.entries.get(this.key);
    if (attached !== undefined) return load(attached);
    return (this.detached ??= emptyStore(this.kind));
  }
}

class NestedSink implements MutationSink<Causal> {
  private readonly map: ORMapState;
  private readonly key: string;
  private readonly parent: MutationSink<ORMapState>;

  constructor(map: ORMapState, key: string, parent: MutationSink<ORMapState>) {
    this.map = map;
    this.key = key;
    this.parent = parent;
  }

  get replica(): ReplicaId {
    return this.parent.replica;
  }

  get hlc(): HLC {
    return this.parent.hlc;
  }

  get limits(): DecodeLimits | undefined {
    return this.parent.limits;
  }

  /** The map's join attaches the key's store, or drops the key when the delta empties it. */
  emit(delta: Causal): void {
    const entries = this.map.store.entries;
    // A delta with a dot adds to the value; one without only removes.
    if (!entries.has(this.key) && countDots(delta.store) > 0) {
      checkRoom(entries.size, 'ORMap.get', this.parent.limits);
    }
    this.parent.emit(wrapDelta(this.key, delta));
  }
}

/**
 * Observed-remove map of string keys to nested CRDTs of one value type.
 * Deleting a key removes the dots observed beneath it; an update concurrent
 * with the delete survives (update wins), showing only what it wrote.
 */
export class ORMap<H> extends Handle<ORMapState> {
  private readonly valueKind: StoreKind;
  private readonly nested: NestedHandleFactory<H>;

  constructor(
    state: ORMapState,
    sink: MutationSink<ORMapState>,
    valueKind: StoreKind,
    nested: NestedHandleFactory<H>,
  ) {
    super(state, sink);
    this.valueKind = valueKind;
    this.nested = nested;
  }

  /** The value under `key`. An absent key reads as the empty value; mutating it creates the key. */
  get(key: string): H {
    checkString(key, 'ORMap.get', this.sink.limits);
    const view = new NestedState(this.state, key, this.valueKind);
    return this.nested(view, new NestedSink(this.state, key, this.sink));
  }

  has(key: string): boolean {
    return this.state.store.entries.has(key);
  }

  delete(key: string): void {
    this.deleteAll([key]);
  }

  /** Removes the keys given (absent ones are skipped) as one delta: far cheaper than one delete per key. */
  deleteAll(keys: Iterable<string>): void {
    const list = [...keys];
    for (const key of list) checkString(key, 'ORMap.delete', this.sink.limits);
    const delta = removeKeys(this.state, list, this.valueKind);
    if (delta !== undefined) this.sink.emit(delta);
  }

  /** Present keys, sorted. */
  keys(): string[] {
    return [...this.state.store.entries.keys()].sort();
  }

  entries(): [string, H][] {
    return this.keys().map((key) => [key, this.get(key)]);
  }

  get size(): number {
    return this.state.store.entries.size;
  }
}
