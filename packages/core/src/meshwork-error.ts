/**
 * The one error model of Meshwork's packages: every error raised on purpose (bad input, a refused
 * message, a limit, a failed start) is a MeshworkError whose `code` is a stable snake_case name a
 * caller can branch on, whose `field` names the option, argument or request field at fault when
 * there is one, and whose message says what actually went wrong. Subclasses narrow `code`.
 */
export class MeshworkError extends Error {
  override readonly name: string = 'MeshworkError';
  readonly code: string;
  readonly field: string | undefined;

  constructor(code: string, message: string, options: { field?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.field = options.field;
  }
}
