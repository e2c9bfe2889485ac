import type { AttemptRow, CoordinationStore, Coordinator } from '@meshwork/coordinator';
import type { Value } from '@meshwork/core';
import type { NodeStore } from './store.ts';

/** A field of a record read from shared state, if the record is a plain object. */
function fieldOf(record: Value | undefined, name: string): Value | undefined {
  if (
    typeof record !== 'object' ||
    record === null ||
    Array.isArray(record) ||
    record instanceof Uint8Array
  ) {
    return undefined;
  }
  return (record as { readonly [key: string]: Value })[name];
}

export interface TaskHistory {
  /** Rewrites the rows of every task this replica knows. */
  syncAll(): void;
  stop(): void;
}

/**
 * Keeps the SQLite `task_history` table in step with the attempts this replica learns of,
 * mesh-wide. An attempt that never reported an end but whose epoch was closed is recorded as
 * `released` (its own node handed it back while draining) or `expired` (declared lost).
 */
export function trackTaskHistory(
  coordinator: Coordinator,
  records: CoordinationStore,
  store: NodeStore,
): TaskHistory {
  const record = (rows: readonly AttemptRow[]): void => {
    for (const r of rows) {
      let { endedAt, outcome }: { endedAt: number | null; outcome: string } = r;
      if (outcome === 'running') {
        // The coordinator keys an epoch's expiry by `<task>|<epoch>`.
        const expiry = records.get('expiry', `${r.task}|${r.epoch}`);
        const at = fieldOf(expiry, 'at');
        if (typeof at === 'number') {
          endedAt = at;
          outcome = fieldOf(expiry, 'by') === r.node ? 'released' : 'expired';
        }
      }
      store.recordAttempt({
        task: r.task,
        attempt: r.attempt,
        agent: r.agent,
        epoch: r.epoch,
        startedAt: r.startedAt,
        endedAt,
        outcome,
      });
    }
  };
  // One transaction per batch: a single commit (and fsync) instead of one per attempt row.
  const syncAll = (): void => {
    store.transaction(() => {
      for (const t of coordinator.list()) record(coordinator.attempts(t.id));
    });
  };

  // Attempt records arrive from anywhere on the mesh; the tasks they touch are refreshed once the
  // coordinator has indexed the change (its store listener was registered before this one).
  const due = new Set<string>();
  let timer: NodeJS.Immediate | undefined;
  const flush = (): void => {
    timer = undefined;
    store.transaction(() => {
      // A task removed meanwhile (finished and past retention) keeps the rows it has.
      for (const task of due) if (coordinator.get(task) !== null) record(coordinator.attempts(task));
    });
    due.clear();
  };
  const unsubscribe = records.onChange((changes) => {
    if (changes === 'all') return syncAll();
    for (const c of changes) {
      if (c.kind !== 'start' && c.kind !== 'end' && c.kind !== 'expiry') continue;
      const task = fieldOf(records.get(c.kind, c.key), 'task');
      if (typeof task === 'string') due.add(task);
    }
    if (due.size > 0) timer ??= setImmediate(flush);
  });
  syncAll();

  return {
    syncAll,
    stop() {
      unsubscribe();
      if (timer !== undefined) clearImmediate(timer);
      timer = undefined;
    },
  };
}
