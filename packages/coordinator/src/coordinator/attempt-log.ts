import type { AgentHistory } from '../history.ts';
import type { AttemptEnd } from '../model.ts';
import type { CoordinationStore, RecordWrite } from '../store.ts';
import { agentAttemptKey } from '../stored-records.ts';

/**
 * Starts and ends of this node's attempts that are not written yet. A pass writes them, with their
 * history points, as one transaction: one event for many attempts instead of two per task. An
 * attempt that ended before then gets no start record: its end, in the same event, says all the start would.
 */
export interface AttemptLog {
  /** An attempt started; `attempt` names it until it ends. */
  started(attempt: string, start: RecordWrite): void;
  /** An attempt ended: its start, if still unwritten, need not be written any more. */
  dropStart(attempt: string): void;
  /** The start of `attempt` if still unwritten, taken out of the log for the caller to write. */
  takeStart(attempt: string): RecordWrite | undefined;
  /** An ended attempt whose end is to be recorded. */
  ended(end: AttemptEnd): void;
  readonly startsUnwritten: boolean;
  /** Writes what is buffered. */
  flush(): void;
  /** Writes what is buffered and the history tallies, at once (stopping). */
  flushNow(): void;
}

export interface AttemptLogDeps {
  readonly store: CoordinationStore;
  readonly history: AgentHistory | undefined;
  readonly write: (records: readonly RecordWrite[]) => void;
}

export function createAttemptLog(deps: AttemptLogDeps): AttemptLog {
  const { store, history, write } = deps;
  const finished: AttemptEnd[] = [];
  const unwrittenStarts = new Map<string, RecordWrite>();

  function flush(): void {
    if (finished.length === 0 && unwrittenStarts.size === 0) return;
    const batch = finished.splice(0);
    const starts = [...unwrittenStarts.values()];
    unwrittenStarts.clear();
    const writeEnds = (): void => {
      write([
        ...starts,
        ...batch.map((r) => ({
          kind: 'end' as const,
          key: agentAttemptKey(r.task, r.epoch, r.agent),
          value: { ...r },
        })),
      ]);
      history?.record(batch);
    };
    if (store.transact === undefined) writeEnds();
    else store.transact(writeEnds);
  }

  return {
    started: (attempt, start) => void unwrittenStarts.set(attempt, start),
    dropStart: (attempt) => void unwrittenStarts.delete(attempt),
    takeStart(attempt) {
      const start = unwrittenStarts.get(attempt);
      unwrittenStarts.delete(attempt);
      return start;
    },
    ended: (end) => void finished.push(end),
    get startsUnwritten() {
      return unwrittenStarts.size > 0;
    },
    flush,
    flushNow() {
      try {
        flush();
      } finally {
        // Also when the store refuses the attempts: no history timer may outlive stop().
        history?.flush();
      }
    },
  };
}
