import type { TaskId } from '../model.ts';
import type { DerivedTask } from '../status.ts';
import type { TaskIndex } from '../task-index.ts';
import type { TaskView } from './api.ts';

/** A task as callers and handlers see it, from its derived state. */
export function taskView(index: TaskIndex, id: TaskId, d: DerivedTask): TaskView {
  const spec = index.spec(id)!;
  const agent = d.accepted?.agent ?? d.winner?.agent ?? null;
  return {
    id,
    spec,
    status: d.status,
    epoch: d.epoch,
    attemptsUsed: d.attemptsUsed,
    agent,
    result: d.accepted?.result ?? null,
    error: d.status === 'succeeded' ? null : (d.accepted?.error ?? d.reason),
    progress: index.progress(id)?.data ?? null,
  };
}
