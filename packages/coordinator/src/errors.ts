import { MeshworkError } from '@meshwork/core';

/** What went wrong, as a stable code callers can branch on. */
export type CoordinatorErrorCode =
  | 'invalid_input'
  | 'unknown_task'
  | 'unknown_agent'
  | 'duplicate_agent'
  | 'stopped'
  | 'expression'
  | 'workflow';

/** Every error the coordinator raises on bad input or misuse. `field` names what was wrong. */
export class CoordinatorError extends MeshworkError {
  override readonly name = 'CoordinatorError';
  declare readonly code: CoordinatorErrorCode;
  constructor(code: CoordinatorErrorCode, message: string, field?: string, options?: ErrorOptions) {
    super(code, field === undefined ? message : `${field}: ${message}`, {
      ...(field !== undefined && { field }),
      cause: options?.cause,
    });
  }
}

export function invalid(field: string, message: string, options?: ErrorOptions): CoordinatorError {
  return new CoordinatorError('invalid_input', message, field, options);
}
