import { MeshworkError } from '@meshwork/core';
import { ApiError } from '../http-server.ts';
import { MemoryError } from '../memory/memory-error.ts';
import { WorkerError } from '../workers/errors.ts';

/**
 * A tool call the node refused; it changed nothing. `code` is the one the HTTP API would answer
 * (`stale_attempt`, `limit_exceeded`, `not_found`, …) or one of the MCP server's own (`no_agent`,
 * `session_has_agent`, `unauthorized`); `field` names the argument at fault.
 */
export class ToolRefusal extends MeshworkError {
  override readonly name = 'ToolRefusal';
  /** When a refusal for load (429) may be retried. */
  readonly retryAfterMs: number | undefined;
  constructor(code: string, message: string, field?: string, retryAfterMs?: number) {
    super(code, message, { ...(field !== undefined && { field }) });
    this.retryAfterMs = retryAfterMs;
  }
}

/** The refusal a typed error of the node stands for; undefined for any other error (a fault). */
export function refusalOf(err: unknown): ToolRefusal | undefined {
  if (err instanceof ToolRefusal) return err;
  if (err instanceof WorkerError || err instanceof MemoryError)
    return new ToolRefusal(err.code, err.message, err.field);
  if (err instanceof ApiError) {
    const retryAfterMs = err.retryAfterS === undefined ? undefined : err.retryAfterS * 1000;
    return new ToolRefusal(err.code, err.message, err.field, retryAfterMs);
  }
  return undefined;
}

/**
 * How a refusal reads in a tool error, code first:
 * `stale_attempt (epoch): the attempt of task t at epoch 1 has ended: …`.
 */
export function refusalText(refusal: ToolRefusal): string {
  const { code, field, message, retryAfterMs } = refusal;
  if (field === undefined) return `${code}: ${message}${retry(retryAfterMs)}`;
  // Most messages start with their field already.
  const rest = message.startsWith(`${field}: `) ? message.slice(field.length + 2) : message;
  return `${code} (${field}): ${rest}${retry(retryAfterMs)}`;
}

const retry = (ms: number | undefined): string => (ms === undefined ? '' : ` (retry after ${ms} ms)`);
