import { MeshworkError, type Value } from '@meshwork/core';

/** What an executor gets from the running task. */
export interface ExecutionContext {
  /** Aborts when the task is cancelled, its lease is lost or the node shuts down. */
  readonly signal: AbortSignal;
  /** Streams progress into the task (shell output, retry notices). */
  progress(data: Value): void;
  /** Fencing token of this attempt: pass it to sinks that must reject stale writers. */
  readonly epoch: number;
  /** Stable across retries of the same task: lets sinks de-duplicate effects. */
  readonly idempotencyKey: string;
}

export type ExecutorKind = 'shell' | 'http' | 'module';
export const EXECUTOR_KINDS: readonly ExecutorKind[] = ['shell', 'http', 'module'];

/** Why an executor could not produce a result. `code` is stable and machine-readable. */
export class ExecutorError extends MeshworkError {
  override readonly name: string = 'ExecutorError';
  readonly details: { readonly [key: string]: Value };
  constructor(code: string, message: string, details: { readonly [key: string]: Value } = {}) {
    super(code, message);
    this.details = details;
  }
}

/** The agent's config does not name the executor a task asked for. */
export class ExecutorNotAllowedError extends ExecutorError {
  override readonly name = 'ExecutorNotAllowedError';
  constructor(agent: string, executor: string) {
    super('not_allowed', `agent ${agent} may not run the ${executor} executor`, { agent, executor });
  }
}

/** The task's input does not describe a valid call for its executor. */
export class ExecutorInputError extends ExecutorError {
  override readonly name = 'ExecutorInputError';
  constructor(message: string) {
    super('bad_input', message);
  }
}

export function abortError(signal: AbortSignal): ExecutorError {
  const reason: unknown = signal.reason;
  const text = reason instanceof Error ? reason.message : typeof reason === 'string' ? reason : 'aborted';
  return new ExecutorError('aborted', `aborted: ${text}`);
}
