import {
  terminalStatuses,
  type CoordinationStore,
  type Coordinator,
  type TaskView,
} from '@meshwork/coordinator';
import type { Value } from '@meshwork/core';
import { toJson } from './json.ts';
import type { AttemptRecord, NodeStore, TaskResultRecord } from './store.ts';

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

/** Old archive rows go in steps of this many per table, so no one SQLite transaction is long. */
const PRUNE_BATCH = 5_000;
/** How often the archive is looked at for old rows once it is pruned down. */
const PRUNE_EVERY_MS = 60_000;

export interface TaskHistory {
  /** Rewrites the rows of every task this replica knows. */
  syncAll(): void;
  stop(): void;
}

/**
 * Keeps the SQLite `task_history` table in step with the attempts this replica learns of,
 * mesh-wide, and `task_results` with how each task ended. An attempt that never reported an end
 * but whose epoch was closed is recorded as `released` (its own node handed it back while
 * draining) or `expired` (declared lost). Both tables keep a task once it is removed from the
 * shared state, so the node can still answer for it, until it has been finished for `keepMs`
 * (0: for good).
 */
export function trackTaskHistory(
  coordinator: Coordinator,
  records: CoordinationStore,
  store: NodeStore,
  options: { readonly keepMs: number },
): TaskHistory {
  /** The task's attempts as history rows, read now: its expiry records go when the task is removed. */
  const rowsOf = (task: string): AttemptRecord[] =>
    coordinator.attempts(task).map((r) => {
      let { endedAt, outcome }: { endedAt: number | null; outcome: string } = r;
      if (outcome === 'running') {
        // The coordinator keys an epoch's expiry by `<task>|<epoch>`.
        const expiry = records.read('expiry', `${r.task}|${r.epoch}`);
        const at = fieldOf(expiry?.value, 'at');
        if (typeof at === 'number') {
          endedAt = at;
          // The replica that wrote the expiry: the attempt's own node when it handed the task back.
          outcome = expiry?.writer === r.node ? 'released' : 'expired';
        }
      }
      return {
        task: r.task,
        attempt: r.attempt,
        agent: r.agent,
        epoch: r.epoch,
        startedAt: r.startedAt,
        endedAt,
        outcome,
      };
    });
  const resultOf = (t: TaskView, at: number): TaskResultRecord => ({
    task: t.id,
    status: t.status,
    result: toJson(t.result),
    error: t.error,
    finishedAt: at,
  });
  const write = (rows: readonly AttemptRecord[]): void => {
    for (const r of rows) store.recordAttempt(r);
  };

  // One transaction per batch: a single commit instead of one per attempt row. Not flushed to disk:
  // the rows are derived from the shared state, which a restart reads again (`syncAll`), and the
  // next flushed commit of this database makes them durable too.
  const unflushed = { flush: false } as const;
  const syncAll = (): void => {
    const now = Date.now();
    store.transaction(() => {
      for (const t of coordinator.list()) {
        write(rowsOf(t.id));
        if (terminalStatuses.has(t.status)) store.recordResult(resultOf(t, now));
      }
    }, unflushed);
  };

  // Attempt records arrive from anywhere on the mesh; the tasks they touch are refreshed once the
  // coordinator has indexed the change (its store listener was registered before this one).
  const due = new Set<string>();
  /** Tasks that finished since the last flush, read when they did: they may be removed before it. */
  const settled = new Map<string, { rows: AttemptRecord[]; result: TaskResultRecord }>();
  let timer: NodeJS.Immediate | undefined;
  const flush = (): void => {
    timer = undefined;
    store.transaction(() => {
      for (const { rows, result } of settled.values()) {
        write(rows);
        store.recordResult(result);
      }
      // A task removed meanwhile (finished and past retention) keeps the rows it has; one that
      // settled is written above, from what it held when it did.
      for (const task of due) if (!settled.has(task) && coordinator.get(task) !== null) write(rowsOf(task));
    }, unflushed);
    settled.clear();
    due.clear();
  };
  const onRecords = records.on('change', (changes) => {
    if (changes === 'all') return syncAll();
    for (const c of changes) {
      // Record keys start with their task id ("task|epoch|agent").
      if (c.kind === 'start' || c.kind === 'end' || c.kind === 'expiry') due.add(c.key.split('|', 1)[0]!);
    }
    if (due.size > 0) timer ??= setImmediate(flush);
  });
  // Rows of tasks finished more than `keepMs` ago go, a batch per step, with steps back to back
  // while a backlog lasts.
  let pruneTimer: NodeJS.Timeout | undefined;
  const prune = (): void => {
    const full = store.pruneArchive(Date.now() - options.keepMs, PRUNE_BATCH) >= PRUNE_BATCH;
    pruneTimer = setTimeout(prune, full ? 0 : PRUNE_EVERY_MS).unref();
  };
  if (options.keepMs > 0) prune();
  const onSettled = coordinator.events.on('settled', (e) => {
    const t = coordinator.get(e.task);
    if (t === null) return;
    settled.set(e.task, { rows: rowsOf(e.task), result: resultOf(t, e.at) });
    timer ??= setImmediate(flush);
  });
  syncAll();

  return {
    syncAll,
    stop() {
      records.off('change', onRecords);
      coordinator.events.off('settled', onSettled);
      clearTimeout(pruneTimer);
      if (timer !== undefined) {
        clearImmediate(timer);
        flush();
      }
    },
  };
}
