import type { Value } from '@meshwork/core';
import type { AgentId, TaskId, TaskSpec } from '../model.ts';
import type { DerivedTask, TaskStatus } from '../status.ts';
import type { TaskIndex } from '../task-index.ts';

export interface TaskView {
  readonly id: TaskId;
  readonly spec: TaskSpec;
  readonly status: TaskStatus;
  readonly epoch: number;
  readonly attemptsUsed: number;
  /** Agent holding or last holding the task. */
  readonly agent: AgentId | null;
  /** The accepted result (same on every replica once synced). */
  readonly result: Value;
  readonly error: string | null;
  readonly progress: Value;
}

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
