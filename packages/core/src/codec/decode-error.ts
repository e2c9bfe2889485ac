/** Why a message could not be decoded. */
export type DecodeErrorCode =
  | 'truncated'
  | 'version'
  | 'kind'
  | 'too-large'
  | 'too-deep'
  | 'invalid'
  | 'trailing-bytes'
  /** An event of another replica than the one the message must come from. */
  | 'origin';

/**
 * The only error decoding raises. Decoding is all-or-nothing: when it throws,
 * nothing has been merged anywhere.
 */
export class DecodeError extends Error {
  readonly code: DecodeErrorCode;

  constructor(code: DecodeErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = 'DecodeError';
    this.code = code;
  }
}
