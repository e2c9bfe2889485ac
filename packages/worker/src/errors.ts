/** Thrown by a handler for a failure that retrying cannot fix: the task fails at once. */
export class PermanentError extends Error {
  override readonly name = 'PermanentError';
}

/**
 * The daemon refused a call: `status` is the HTTP status, `code` the protocol's error code
 * (`stale_attempt`, `worker_expired`, …), `field` the part of the call at fault.
 */
export class RefusalError extends Error {
  override readonly name = 'RefusalError';
  readonly status: number;
  readonly code: string;
  readonly field: string | undefined;
  constructor(status: number, code: string, message: string, field?: string) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

/** The daemon no longer knows the worker: it must register again. */
export function registrationLost(err: unknown): boolean {
  return err instanceof RefusalError && (err.code === 'worker_expired' || err.code === 'unknown_worker');
}
