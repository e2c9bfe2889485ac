import type { TaskContext, TaskView } from '@meshwork/coordinator';
import type { Value } from '@meshwork/core';
import { traceHeaders } from '../telemetry/propagation.ts';
import type { AttemptHistory } from './attempt-history.ts';
import type { HeldAttempt } from './held-attempt.ts';
import { dispatch } from './pull-worker.ts';
import type { WorkerTable } from './worker-table.ts';

/** What the coordinator calls to run an attempt on a worker's agent. */
export type AttemptHandler = (task: TaskView, ctx: TaskContext) => Promise<Value>;

function reasonText(reason: unknown): string {
  return reason instanceof Error ? reason.message : typeof reason === 'string' ? reason : 'aborted';
}

/**
 * The handler of a worker's agent: it queues the attempt for the worker's polls and settles when
 * the worker reports its end, or rejects when the attempt is aborted or superseded by a newer epoch.
 */
export function attemptHandler(
  workerId: string,
  deps: { readonly table: WorkerTable; readonly history: AttemptHistory; readonly now: () => number },
): AttemptHandler {
  const { table, history, now } = deps;
  return (task, ctx) =>
    new Promise<Value>((resolve, reject) => {
      const w = table.get(workerId);
      if (w === undefined) {
        // Started in the turn its worker went away.
        ctx.release();
        reject(new Error(`worker ${workerId} is gone`));
        return;
      }
      const h: HeldAttempt = {
        task,
        ctx,
        startedAt: now(),
        // Taken here, in the attempt's handler, where its span is the active one.
        trace: traceHeaders(),
        delivered: false,
        resolve,
        reject,
        pendingProgress: undefined,
        progressTimer: undefined,
        progressAt: 0,
      };
      const previous = w.held.get(task.id);
      if (previous !== undefined) {
        const reason = `superseded by epoch ${ctx.epoch}`;
        if (history.end(w, previous, { workerId, outcome: 'aborted', reason }))
          w.aborted.push({ taskId: task.id, epoch: previous.ctx.epoch, reason });
        previous.reject(new Error(reason));
      }
      w.held.set(task.id, h);
      w.queue.push(h);
      ctx.signal.addEventListener(
        'abort',
        () => {
          const reason = reasonText(ctx.signal.reason);
          if (history.end(w, h, { workerId, outcome: 'aborted', reason }))
            w.aborted.push({ taskId: task.id, epoch: ctx.epoch, reason });
          reject(new Error(reason));
        },
        { once: true },
      );
      dispatch(w);
    });
}
