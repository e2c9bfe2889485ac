import { MeshworkError } from '@meshwork/core';
/** What went wrong with a shared-memory call, as a stable code callers can branch on. */
export type MemoryErrorCode =
  | 'invalid_request'
  | 'limit_exceeded'
  | 'not_found'
  | 'type_conflict'
  | 'insufficient_rights'
  | 'missing_vertex';

/** Every refusal of shared memory; nothing changed. `field` names the offending input. */
export class MemoryError extends MeshworkError {
  override readonly name = 'MemoryError';
  declare readonly code: MemoryErrorCode;
  constructor(code: MemoryErrorCode, message: string, field?: string, options?: ErrorOptions) {
    super(code, message, { ...(field !== undefined && { field }), cause: options?.cause });
  }
}
