import * as encoding from 'lib0/encoding';
import type { ReplicaId } from '../replica.ts';

export interface WriterMark {
  readonly bufs: number;
  readonly cbuf: encoding.Encoder['cbuf'];
  readonly cpos: number;
  readonly replicas: number;
}

/**
 * Binary writer over lib0's encoder. Replica ids are interned per message:
 * the first occurrence writes its table index followed by the id, later ones
 * only the index, so a 52-character peer id costs one byte after its first use.
 */
export class Writer {
  readonly encoder: encoding.Encoder = encoding.createEncoder();
  private readonly replicas = new Map<ReplicaId, number>();

  uint(n: number): void {
    encoding.writeVarUint(this.encoder, n);
  }

  int(n: number): void {
    encoding.writeVarInt(this.encoder, n);
  }

  byte(n: number): void {
    encoding.writeUint8(this.encoder, n);
  }

  float(n: number): void {
    encoding.writeFloat64(this.encoder, n);
  }

  string(s: string): void {
    encoding.writeVarString(this.encoder, s);
  }

  bytes(b: Uint8Array): void {
    encoding.writeVarUint8Array(this.encoder, b);
  }

  /** Appends bytes encoded elsewhere, without a length. */
  raw(b: Uint8Array): void {
    encoding.writeUint8Array(this.encoder, b);
  }

  replica(id: ReplicaId): void {
    const index = this.replicas.get(id);
    if (index !== undefined) {
      encoding.writeVarUint(this.encoder, index);
      return;
    }
    const next = this.replicas.size;
    this.replicas.set(id, next);
    encoding.writeVarUint(this.encoder, next);
    encoding.writeVarString(this.encoder, id);
  }

  get length(): number {
    return encoding.length(this.encoder);
  }

  finish(): Uint8Array {
    const e = this.encoder;
    // One copy when everything fits the current buffer (the common, small-message case).
    return e.bufs.length === 0 ? e.cbuf.slice(0, e.cpos) : encoding.toUint8Array(e);
  }

  /** A position to `rewind` to, undoing what was written after it (replica interning too). */
  mark(): WriterMark {
    const e = this.encoder;
    return { bufs: e.bufs.length, cbuf: e.cbuf, cpos: e.cpos, replicas: this.replicas.size };
  }

  rewind(m: WriterMark): void {
    // lib0 only appends: finished buffers are pushed whole and left untouched, so the
    // buffer current at the mark still holds its first `cpos` bytes.
    const e = this.encoder;
    e.bufs.length = m.bufs;
    e.cbuf = m.cbuf;
    e.cpos = m.cpos;
    for (const [id, index] of this.replicas) if (index >= m.replicas) this.replicas.delete(id);
  }

  /** Empties the writer (bytes and replica table) so a hot path can reuse its buffer. */
  reset(): void {
    this.encoder.cpos = 0;
    this.encoder.bufs.length = 0;
    this.replicas.clear();
  }
}
