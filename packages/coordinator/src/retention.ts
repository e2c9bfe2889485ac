import type { ReplicaId } from '@meshwork/core';
import { DueQueue } from './due-queue.ts';
import { invalid } from './errors.ts';
import type { TaskId } from './model.ts';
import type { RecordChange } from './store.ts';
import type { TaskIndex } from './task-index.ts';
import type { WorkflowView, Workflows } from './workflows.ts';

export interface RetentionOptions {
  /** How long a finished task (or workflow run) is kept after this replica saw it finish. Default 5 minutes. */
  readonly finishedMs: number;
  /** Most finished tasks kept; past this the oldest go first, whatever their age. Default 100,000. */
  readonly maxFinished: number;
}

export const defaultRetention: RetentionOptions = { finishedMs: 300_000, maxFinished: 100_000 };

/** One removal: everything recorded about a task, or a workflow run and all its tasks. */
export interface Removal {
  readonly tasks: readonly TaskId[];
  readonly run: string | null;
  readonly records: readonly RecordChange[];
}

/**
 * Decides which finished tasks to remove from the shared state, so that it holds the open
 * tasks plus a bounded window of finished ones. The replica that wrote a task's final record
 * (its accepted result, its cancellation, its timeout; else its submitter) removes it once it
 * has been finished for `finishedMs`, or earlier when more than `maxFinished` are held. Any
 * other replica steps in at twice either limit, so a task outlives a dead remover. A task
 * stays while a task that depends on it is held or an attempt of it still runs here; a
 * workflow's tasks go together with their run, once the run is over.
 */
export interface Retention {
  /** A task this replica saw reach a final status. */
  finished(id: TaskId, now: number): void;
  /** A task that is gone (removed here or by another replica). */
  forget(id: TaskId): void;
  /** The removals due at `now`: at most `limit` tasks, out of at most `limit` looked at. */
  sweep(now: number, limit: number): Removal[];
}

export interface RetentionDeps {
  readonly index: TaskIndex;
  readonly workflows: Workflows;
  readonly replica: ReplicaId;
  /** The replica expected to remove a finished task. */
  remover(id: TaskId): ReplicaId;
  /** The replica expected to remove a finished workflow run. */
  runRemover(run: string): ReplicaId | null;
  /** Whether an attempt of the task still runs on this replica. */
  runningHere(id: TaskId): boolean;
}

export function parseRetention(options: Partial<RetentionOptions> | undefined): RetentionOptions {
  const r = { ...defaultRetention, ...options };
  if (!Number.isSafeInteger(r.finishedMs) || r.finishedMs < 0)
    throw invalid('retention.finishedMs', 'must be a non-negative integer (ms)');
  if (!Number.isSafeInteger(r.maxFinished) || r.maxFinished < 0)
    throw invalid('retention.maxFinished', 'must be a non-negative integer');
  return r;
}

const noTasks: ReadonlySet<TaskId> = new Set();
/** A task kept for another's sake is looked at again this often (its dependent may go any time). */
const blockedRecheckMs = 1000;

export function createRetention(deps: RetentionDeps, options: RetentionOptions): Retention {
  const { index, workflows, replica } = deps;
  const { finishedMs, maxFinished } = options;
  /** When each finished task was seen finishing. */
  const finishedAt = new Map<TaskId, number>();
  /** When to look at each finished task next. */
  const due = new DueQueue<TaskId>();
  const orphanSince = new Map<TaskId, number>();

  /**
   * A task stays while an attempt of it runs here, and while any task depending on it is held
   * (a dependent's status is derived from it), unless that dependent goes in the same removal.
   */
  const blocked = (id: TaskId, alongside: ReadonlySet<TaskId> = noTasks): boolean => {
    if (deps.runningHere(id)) return true;
    for (const t of index.dependents(id)) if (index.spec(t) !== null && !alongside.has(t)) return true;
    return false;
  };

  /** How long a finished task waits before `remover` removes it, for this replica. */
  const wait = (remover: ReplicaId | null): number => (remover === replica ? finishedMs : 2 * finishedMs);
  const over = (remover: ReplicaId | null, excess: number): boolean =>
    excess > (remover === replica ? 0 : maxFinished);

  /** A finished run with all its tasks, when all of it may go now. */
  const runRemoval = (view: WorkflowView, now: number, excess: number): Removal | null => {
    if (view.status === 'running') return null;
    const run = view.run;
    let last = -Infinity;
    const members = new Set(view.tasks);
    for (const t of view.tasks) {
      if (index.spec(t) === null) continue;
      const at = finishedAt.get(t);
      if (at === undefined || blocked(t, members)) return null;
      last = Math.max(last, at);
    }
    const remover = deps.runRemover(run);
    if (now - last < wait(remover) && !over(remover, excess)) return null;
    const records: RecordChange[] = [{ kind: 'workflow', key: run }];
    for (const t of view.tasks) records.push(...index.recordKeys(t));
    return { tasks: view.tasks, run, records };
  };

  const forget = (id: TaskId): void => {
    finishedAt.delete(id);
    due.delete(id);
  };

  return {
    finished(id, now) {
      if (finishedAt.has(id)) return;
      finishedAt.set(id, now);
      due.set(id, now + finishedMs);
    },
    forget,
    sweep(now, limit) {
      const out: Removal[] = [];
      /** Tasks that cannot go yet, with when to look again. */
      const later: [TaskId, number][] = [];
      let taken = 0;
      let excess = finishedAt.size - maxFinished;
      const take = (r: Removal): void => {
        for (const t of r.tasks) {
          forget(t);
          // Its dependencies waited for it: look at them again at once.
          for (const dep of index.spec(t)?.dependsOn ?? []) if (due.delete(dep)) later.push([dep, now]);
        }
        out.push(r);
        taken += r.tasks.length;
        excess -= r.tasks.length;
      };
      // Looks at most `limit` tasks per sweep: past `maxFinished`, tasks not yet due are looked at too.
      let looked = 0;
      for (
        let next = due.peek();
        next !== undefined && taken < limit && looked++ < limit;
        next = due.peek()
      ) {
        // Nothing further is due, unless too many finished tasks are held.
        if (next.at > now && excess <= 0) break;
        const id = next.key;
        due.shift();
        const spec = index.spec(id);
        if (spec === null) {
          forget(id);
          excess--;
          continue;
        }
        const run = spec.workflow === null ? null : workflows.get(spec.workflow.run);
        if (run !== null) {
          const r = runRemoval(run, now, excess);
          if (r === null) later.push([id, now + finishedMs]);
          else take(r);
          continue;
        }
        const remover = deps.remover(id);
        const since = finishedAt.get(id)!;
        if (now - since < wait(remover) && !over(remover, excess)) later.push([id, since + wait(remover)]);
        else if (blocked(id)) {
          // Kept for a dependent: the others' wait for the remover starts over once it is free to go.
          if (remover !== replica) finishedAt.set(id, now);
          later.push([id, now + Math.min(finishedMs, blockedRecheckMs)]);
        } else take({ tasks: [id], run: null, records: index.recordKeys(id) });
      }
      for (const [id, at] of later) due.set(id, at);
      // Records whose task never arrived, or arrived after the task was removed: cleared after the same wait.
      for (const id of orphanSince.keys()) if (!index.orphans().has(id)) orphanSince.delete(id);
      for (const id of index.orphans()) {
        const since = orphanSince.get(id);
        if (since === undefined) orphanSince.set(id, now);
        else if (now - since >= finishedMs && taken < limit) {
          orphanSince.delete(id);
          out.push({ tasks: [], run: null, records: index.recordKeys(id) });
          taken++;
        }
      }
      return out;
    },
  };
}
