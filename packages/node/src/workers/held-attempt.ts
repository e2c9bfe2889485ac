import type { TaskContext, TaskView } from '@meshwork/coordinator';
import type { Value } from '@meshwork/core';
import type { Logger } from '../logger.ts';
import type { TaskAssignment } from './protocol.ts';

/** Progress a worker reports is written into the shared state at most this often per attempt (last value wins). */
const PROGRESS_INTERVAL_MS = 250;

/** An attempt the coordinator started on a worker's agent, waiting for the worker's verdict. */
export interface HeldAttempt {
  readonly task: TaskView;
  readonly ctx: TaskContext;
  readonly startedAt: number;
  /** `traceparent` (and `tracestate`) of the attempt's span; empty when tracing is off. */
  readonly trace: Readonly<Record<string, string>>;
  delivered: boolean;
  readonly resolve: (result: Value) => void;
  readonly reject: (error: Error) => void;
  pendingProgress: Value | undefined;
  progressTimer: NodeJS.Timeout | undefined;
  progressAt: number;
}

/** The attempt as the worker is given it. */
export function toAssignment(h: HeldAttempt): TaskAssignment {
  const { spec } = h.task;
  const runMs = spec.timeouts.runMs;
  return {
    taskId: h.task.id,
    epoch: h.ctx.epoch,
    attempt: h.ctx.attempt,
    idempotencyKey: h.ctx.idempotencyKey,
    type: spec.type,
    input: h.ctx.input,
    needs: spec.needs,
    priority: spec.priority,
    submittedAt: spec.submittedAt,
    startedAt: h.startedAt,
    timeouts: spec.timeouts,
    deadline: runMs === null ? null : h.startedAt + runMs,
    workflow: spec.workflow,
    ...h.trace,
  };
}

/** Writes the attempt's reported progress into the shared state at a bounded rate. */
export interface ProgressWriter {
  /** Takes `data` as the attempt's latest progress; written now or when the interval has passed. */
  report(h: HeldAttempt, data: Value): void;
  /** Writes the pending progress now (before the attempt's verdict). */
  flush(h: HeldAttempt): void;
}

export function createProgressWriter(deps: {
  readonly logger: Logger;
  readonly now: () => number;
}): ProgressWriter {
  const { logger, now } = deps;
  const flush = (h: HeldAttempt): void => {
    if (h.progressTimer !== undefined) clearTimeout(h.progressTimer);
    h.progressTimer = undefined;
    const data = h.pendingProgress;
    if (data === undefined) return;
    h.pendingProgress = undefined;
    h.progressAt = now();
    try {
      h.ctx.progress(data);
    } catch (err) {
      // Checked when reported; a store that refuses writes (the node is failing) drops it.
      logger.warn({ err, task: h.task.id, epoch: h.ctx.epoch }, 'worker progress dropped');
    }
  };
  return {
    flush,
    report(h, data) {
      h.pendingProgress = data;
      const since = now() - h.progressAt;
      if (since >= PROGRESS_INTERVAL_MS) flush(h);
      else h.progressTimer ??= setTimeout(() => flush(h), PROGRESS_INTERVAL_MS - since);
    },
  };
}
