import { MeshworkError } from '../meshwork-error.ts';

/** Why a message could not be decoded. */
export type DecodeErrorCode =
  | 'truncated'
  | 'version'
  | 'kind'
  | 'too_large'
  | 'too_deep'
  | 'invalid'
  | 'trailing_bytes'
  /** An event of another replica than the one the message must come from. */
  | 'origin'
  /** An event whose dot is known here with other content: its replica id is used twice. */
  | 'equivocation'
  /** A timestamp further ahead of local time than the clock allows (HLC drift cap). */
  | 'clock';

/**
 * The only error decoding raises. Decoding is all-or-nothing: when it throws,
 * nothing has been merged anywhere.
 */
export class DecodeError extends MeshworkError {
  override readonly name: string = 'DecodeError';
  declare readonly code: DecodeErrorCode;

  constructor(code: DecodeErrorCode, message: string) {
    super(code, `${code}: ${message}`);
  }
}

/**
 * An event whose dot (replica, seq) this replica already holds with different content: two
 * Documents wrote under one replica id (a twin, or a restart that lost its state and reused
 * its seqs). The message is refused whole, as with any DecodeError.
 */
export class EquivocationError extends DecodeError {
  override readonly name = 'EquivocationError';
  readonly replica: string;
  readonly seq: number;

  constructor(replica: string, seq: number) {
    super('equivocation', `event ${replica}:${seq} differs from the one already merged under that dot`);
    this.replica = replica;
    this.seq = seq;
  }
}
