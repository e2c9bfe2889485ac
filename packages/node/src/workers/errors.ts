import { MeshworkError } from '@meshwork/core';

/** Why a worker call was refused. Each code has one HTTP status (the node README lists them). */
export type WorkerErrorCode =
  | 'invalid_request'
  | 'limit_exceeded'
  | 'unknown_worker'
  | 'worker_expired'
  | 'agent_exists'
  | 'not_held'
  | 'stale_attempt'
  | 'too_many_workers'
  | 'too_many_polls'
  | 'stopping';

export const workerErrorStatus: Readonly<Record<WorkerErrorCode, number>> = Object.freeze({
  invalid_request: 400,
  limit_exceeded: 400,
  unknown_worker: 404,
  worker_expired: 409,
  agent_exists: 409,
  not_held: 409,
  stale_attempt: 409,
  too_many_workers: 429,
  too_many_polls: 429,
  stopping: 503,
});

/**
 * A worker call the daemon refused; it changed nothing. `field` names the part of the call at
 * fault (`workerId`, `taskId`, `epoch`, `result`, …).
 */
export class WorkerError extends MeshworkError {
  override readonly name = 'WorkerError';
  declare readonly code: WorkerErrorCode;
  constructor(code: WorkerErrorCode, message: string, field?: string) {
    super(code, message, { ...(field !== undefined && { field }) });
  }
}
