/** What went wrong, as a stable code callers can branch on. */
export type CoordinatorErrorCode =
  | 'invalid-input'
  | 'unknown-task'
  | 'unknown-agent'
  | 'duplicate-agent'
  | 'stopped'
  | 'expression'
  | 'workflow';

/** Every error the coordinator raises on bad input or misuse. `field` names what was wrong. */
export class CoordinatorError extends Error {
  override readonly name = 'CoordinatorError';
  readonly code: CoordinatorErrorCode;
  readonly field: string | undefined;
  constructor(code: CoordinatorErrorCode, message: string, field?: string, options?: ErrorOptions) {
    super(field === undefined ? message : `${field}: ${message}`, options);
    this.code = code;
    this.field = field;
  }
}

export function invalid(field: string, message: string, options?: ErrorOptions): CoordinatorError {
  return new CoordinatorError('invalid-input', message, field, options);
}
