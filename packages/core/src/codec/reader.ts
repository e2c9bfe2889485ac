import * as decoding from 'lib0/decoding';
import type { ReplicaId } from '../replica.ts';
import { DecodeError } from './decode-error.ts';
import { defaultDecodeLimits, type DecodeLimits } from './limits.ts';

const MAX_REPLICA_ID_BYTES = 256;

/**
 * Bounded binary reader over lib0's decoder. Every length is checked against
 * the bytes that remain and the configured limits before anything is
 * allocated; every failure is a {@link DecodeError}.
 */
export class Reader {
  private readonly decoder: decoding.Decoder;
  private replicas: ReplicaId[] = [];
  private depth = 0;
  readonly limits: DecodeLimits;

  constructor(bytes: Uint8Array, limits: DecodeLimits = defaultDecodeLimits) {
    if (bytes.byteLength > limits.maxMessageBytes) {
      throw new DecodeError(
        'too_large',
        `message of ${bytes.byteLength} bytes exceeds ${limits.maxMessageBytes}`,
      );
    }
    this.decoder = decoding.createDecoder(bytes);
    this.limits = limits;
  }

  get remaining(): number {
    return this.decoder.arr.byteLength - this.decoder.pos;
  }

  get position(): number {
    return this.decoder.pos;
  }

  private need(n: number, what: string): void {
    if (n > this.remaining) {
      throw new DecodeError('truncated', `${what}: needs ${n} bytes, ${this.remaining} left`);
    }
  }

  uint(what = 'uint'): number {
    this.need(1, what);
    let n: number;
    try {
      n = decoding.readVarUint(this.decoder);
    } catch {
      throw new DecodeError('truncated', `${what}: unterminated varint`);
    }
    if (!Number.isSafeInteger(n)) throw new DecodeError('invalid', `${what}: not a safe integer`);
    return n;
  }

  int(what = 'int'): number {
    this.need(1, what);
    let n: number;
    try {
      n = decoding.readVarInt(this.decoder);
    } catch {
      throw new DecodeError('truncated', `${what}: unterminated varint`);
    }
    if (!Number.isSafeInteger(n)) throw new DecodeError('invalid', `${what}: not a safe integer`);
    return n;
  }

  byte(what = 'byte'): number {
    this.need(1, what);
    return decoding.readUint8(this.decoder);
  }

  float(what = 'float'): number {
    this.need(8, what);
    return decoding.readFloat64(this.decoder);
  }

  /** A count of entries that follow, each at least `minBytesEach` bytes long. */
  count(what: string, minBytesEach = 1): number {
    const n = this.uint(what);
    if (n > this.limits.maxEntries) {
      throw new DecodeError('too_large', `${what}: ${n} entries exceed ${this.limits.maxEntries}`);
    }
    this.need(n * minBytesEach, what);
    return n;
  }

  bytes(what = 'bytes'): Uint8Array {
    const n = this.uint(what);
    if (n > this.limits.maxStringBytes) {
      throw new DecodeError('too_large', `${what}: ${n} bytes exceed ${this.limits.maxStringBytes}`);
    }
    this.need(n, what);
    return decoding.readUint8Array(this.decoder, n).slice();
  }

  string(what = 'string'): string {
    const n = this.uint(what);
    if (n > this.limits.maxStringBytes) {
      throw new DecodeError('too_large', `${what}: ${n} bytes exceed ${this.limits.maxStringBytes}`);
    }
    this.need(n, what);
    const raw = decoding.readUint8Array(this.decoder, n);
    try {
      return utf8.decode(raw);
    } catch {
      throw new DecodeError('invalid', `${what}: not UTF-8`);
    }
  }

  replica(what = 'replica'): ReplicaId {
    const index = this.uint(what);
    if (index < this.replicas.length) return this.replicas[index] as ReplicaId;
    if (index !== this.replicas.length) {
      throw new DecodeError('invalid', `${what}: replica index ${index} skips the table`);
    }
    const id = this.string(what);
    if (id.length === 0 || id.length > MAX_REPLICA_ID_BYTES) {
      throw new DecodeError('invalid', `${what}: replica id of length ${id.length}`);
    }
    this.replicas.push(id);
    return id;
  }

  /**
   * Enters the scope of one record inside a message: replica ids read from here on are
   * numbered in a table of the record's own, which starts with `first`. Returns the table
   * left, for {@link leaveRecordScope}.
   */
  enterRecordScope(first: ReplicaId): ReplicaId[] {
    const left = this.replicas;
    this.replicas = [first];
    return left;
  }

  leaveRecordScope(table: ReplicaId[]): void {
    this.replicas = table;
  }

  /** Runs `read` one nesting level deeper, enforcing the depth limit. */
  nested<T>(what: string, read: () => T): T {
    if (++this.depth > this.limits.maxDepth) {
      throw new DecodeError('too_deep', `${what}: nesting exceeds ${this.limits.maxDepth}`);
    }
    try {
      return read();
    } finally {
      this.depth--;
    }
  }

  /** Asserts the whole message was consumed. */
  end(what = 'message'): void {
    if (this.remaining !== 0) {
      throw new DecodeError('trailing_bytes', `${what}: ${this.remaining} bytes after the end`);
    }
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
