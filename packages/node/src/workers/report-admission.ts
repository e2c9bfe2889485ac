import { dataLimits, type Coordinator } from '@meshwork/coordinator';
import { InvalidArgumentError, LimitExceededError, validateValue, type Value } from '@meshwork/core';
import type { AttemptHistory } from './attempt-history.ts';
import type { HeldAttempt } from './held-attempt.ts';
import type { PullWorker } from './pull-worker.ts';
import type { Refuse } from './refusal.ts';

/** The checks a worker's report passes before it changes anything: the attempt it names, and the value it carries. */
export interface ReportAdmission {
  /** The delivered attempt a report is about, or the refusal saying why the worker does not hold it. */
  attempt(w: PullWorker, taskId: string, epoch: number): HeldAttempt;
  /** A reported value as the shared state will hold it, within the data limits and `maxResultBytes`. */
  value(field: string, value: unknown): Value;
}

export function createReportAdmission(deps: {
  readonly coordinator: Coordinator;
  readonly history: AttemptHistory;
  readonly maxResultBytes: number;
  readonly refuse: Refuse;
}): ReportAdmission {
  const { coordinator, history, maxResultBytes, refuse } = deps;
  return {
    attempt(w, taskId, epoch) {
      const h = w.held.get(taskId);
      if (h !== undefined && h.ctx.epoch === epoch) {
        if (h.delivered) return h;
        throw refuse(
          'not_held',
          `task ${taskId} waits for this worker's next poll: it was not delivered yet`,
          'taskId',
        );
      }
      const end = history.get(taskId, epoch);
      if (end?.workerId === w.id)
        throw refuse(
          'stale_attempt',
          `the attempt of task ${taskId} at epoch ${epoch} has ended: ${end.reason}`,
          'epoch',
        );
      if (h !== undefined)
        throw refuse(
          'stale_attempt',
          `this worker holds task ${taskId} at epoch ${h.ctx.epoch}, not ${epoch}`,
          'epoch',
        );
      const t = coordinator.get(taskId);
      const state =
        t === null
          ? 'no such task is known here'
          : `it is ${t.status}${t.agent !== null ? ` (agent ${t.agent}, epoch ${t.epoch})` : ''}`;
      throw refuse('not_held', `worker ${w.id} does not hold task ${taskId}: ${state}`, 'taskId');
    },

    value(field, value) {
      let bytes: number;
      try {
        bytes = validateValue(value, dataLimits);
      } catch (err) {
        if (err instanceof LimitExceededError)
          throw refuse('limit_exceeded', `${field}: ${err.message}`, field);
        if (err instanceof InvalidArgumentError)
          throw refuse('invalid_request', `${field}: ${err.message}`, field);
        throw err;
      }
      if (bytes > maxResultBytes) {
        throw refuse(
          'limit_exceeded',
          `${field}: ${bytes} bytes encoded, more than workers.maxResultBytes (${maxResultBytes})`,
          field,
        );
      }
      return value as Value;
    },
  };
}
