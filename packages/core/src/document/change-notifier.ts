import { Emitter } from '../events/emitter.ts';
import type { ChangeEvent, DocumentEvents } from './document-api.ts';
import { DocumentArgumentError } from './errors.ts';

/**
 * A Document's events. Listeners run in registration order; a change raised from inside a
 * listener is queued until every listener has seen the current one, so all listeners see
 * changes in the same order. A listener that throws ends the notification and the error reaches
 * the mutating call or `apply` (the persistence veto, see `Emitter`); queued changes are dropped
 * with it, and the next change reaches every listener again.
 */
export class ChangeNotifier extends Emitter<DocumentEvents> {
  private readonly pending: ChangeEvent[] = [];
  private notifying = false;

  override on<K extends keyof DocumentEvents>(name: K, listener: DocumentEvents[K]): DocumentEvents[K] {
    checkListener(name, listener);
    return super.on(name, listener);
  }

  override once<K extends keyof DocumentEvents>(name: K, listener: DocumentEvents[K]): void {
    checkListener(name, listener);
    super.once(name, listener);
  }

  override off<K extends keyof DocumentEvents>(name: K, listener: DocumentEvents[K]): void {
    checkListener(name, listener);
    super.off(name, listener);
  }

  notify(event: ChangeEvent): void {
    if (!this.listens('change')) return;
    this.pending.push(event);
    if (this.notifying) return;
    this.notifying = true;
    try {
      for (let next = this.pending.shift(); next !== undefined; next = this.pending.shift()) {
        this.emit('change', [next]);
      }
    } finally {
      this.notifying = false;
      this.pending.length = 0;
    }
  }
}

/** JavaScript callers get no type check: a bad call fails here, not at the next change. */
function checkListener(type: string, listener: unknown): void {
  if (type !== 'change') throw new DocumentArgumentError(`unknown document event "${type}"`);
  if (typeof listener !== 'function') throw new DocumentArgumentError('listener must be a function');
}
