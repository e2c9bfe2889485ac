import { digest as sha256 } from 'lib0/hash/sha256';
import { DecodeError } from '../codec/decode-error.ts';
import { defaultDecodeLimits, type DecodeLimits } from '../codec/limits.ts';
import { Reader } from '../codec/reader.ts';
import { Writer } from '../codec/writer.ts';
import { MessageKind, readHeader, writeHeader } from './messages.ts';

/** Snapshot ids are the first bytes of the payload's SHA-256: equal snapshots share an id. */
const ID_BYTES = 16;
/** Header room reserved in every chunk: version, kind, id, index, total, piece length. */
const CHUNK_OVERHEAD = 2 + 1 + ID_BYTES + 5 + 5 + 5;
/** The smallest `maxChunkBytes` accepted, so every chunk carries a useful piece. */
export const MIN_CHUNK_BYTES = CHUNK_OVERHEAD + 32;
/** Snapshots assembled at once; the oldest pending one is dropped beyond this. */
const MAX_PENDING = 4;

function snapshotId(payload: Uint8Array): Uint8Array {
  return sha256(payload).subarray(0, ID_BYTES);
}

/**
 * Splits a snapshot payload into chunk messages of at most `maxChunkBytes`.
 * Each chunk names the snapshot (a hash of the whole payload), its index and
 * the chunk count, so a receiver can assemble them in any order.
 */
export function chunkSnapshot(payload: Uint8Array, maxChunkBytes: number): Uint8Array[] {
  if (!Number.isSafeInteger(maxChunkBytes) || maxChunkBytes < MIN_CHUNK_BYTES) {
    throw new RangeError(
      `snapshot maxChunkBytes must be an integer >= ${MIN_CHUNK_BYTES}, got ${maxChunkBytes}`,
    );
  }
  const id = snapshotId(payload);
  const pieceBytes = maxChunkBytes - CHUNK_OVERHEAD;
  const total = Math.max(1, Math.ceil(payload.byteLength / pieceBytes));
  const chunks: Uint8Array[] = [];
  for (let index = 0; index < total; index++) {
    const w = new Writer();
    writeHeader(w, MessageKind.SnapshotChunk);
    w.bytes(id);
    w.uint(index);
    w.uint(total);
    w.bytes(payload.subarray(index * pieceBytes, (index + 1) * pieceBytes));
    chunks.push(w.finish());
  }
  return chunks;
}

/** One decoded chunk message. */
export interface SnapshotChunk {
  readonly id: string;
  readonly index: number;
  readonly total: number;
  readonly piece: Uint8Array;
}

export function decodeSnapshotChunk(
  bytes: Uint8Array,
  limits: DecodeLimits = defaultDecodeLimits,
): SnapshotChunk {
  const r = new Reader(bytes, limits);
  readHeader(r, MessageKind.SnapshotChunk);
  const idBytes = r.bytes('snapshot id');
  if (idBytes.byteLength !== ID_BYTES) {
    throw new DecodeError('invalid', `snapshot id of ${idBytes.byteLength} bytes, expected ${ID_BYTES}`);
  }
  const index = r.uint('snapshot chunk index');
  const total = r.uint('snapshot chunk count');
  if (total === 0 || total > limits.maxEntries) {
    throw new DecodeError('invalid', `snapshot chunk count ${total}`);
  }
  if (index >= total) throw new DecodeError('invalid', `snapshot chunk index ${index} of ${total}`);
  const piece = r.bytes('snapshot chunk piece');
  r.end('snapshot chunk');
  return { id: hex(idBytes), index, total, piece };
}

interface Pending {
  readonly total: number;
  readonly pieces: (Uint8Array | undefined)[];
  received: number;
  bytes: number;
}

/**
 * Collects the chunks of snapshots until one is complete. Chunks may come in
 * any order and more than once; the assembled payload is checked against the
 * snapshot id before it is handed out, so mixed or corrupted chunks are caught.
 */
export class SnapshotAssembler {
  private readonly pending = new Map<string, Pending>();
  /** Bytes held across all pending snapshots, kept within one message's limit. */
  private heldBytes = 0;
  private readonly limits: DecodeLimits;

  constructor(limits: DecodeLimits = defaultDecodeLimits) {
    this.limits = limits;
  }

  /** Validates a chunk fully without storing it; returns it decoded. */
  check(bytes: Uint8Array): SnapshotChunk {
    const chunk = decodeSnapshotChunk(bytes, this.limits);
    const known = this.pending.get(chunk.id);
    if (known !== undefined && known.total !== chunk.total) {
      throw new DecodeError(
        'invalid',
        `snapshot chunk count ${chunk.total}, earlier chunks said ${known.total}`,
      );
    }
    const pendingBytes = (known?.bytes ?? 0) + chunk.piece.byteLength;
    if (pendingBytes > this.limits.maxMessageBytes) {
      throw new DecodeError('too-large', `snapshot exceeds ${this.limits.maxMessageBytes} bytes`);
    }
    return chunk;
  }

  /**
   * Stores a checked chunk. Returns the whole payload once every chunk of its
   * snapshot is in (and forgets that snapshot), otherwise undefined.
   * Throws DecodeError when the assembled payload does not match its id.
   */
  add(chunk: SnapshotChunk): Uint8Array | undefined {
    let entry = this.pending.get(chunk.id);
    // Make room by dropping the oldest other snapshots (their senders will retry).
    for (const [id, other] of this.pending) {
      const full = this.pending.size >= MAX_PENDING && entry === undefined;
      if (!full && this.heldBytes + chunk.piece.byteLength <= this.limits.maxMessageBytes) break;
      if (id === chunk.id) continue;
      this.pending.delete(id);
      this.heldBytes -= other.bytes;
    }
    if (entry === undefined) {
      entry = {
        total: chunk.total,
        pieces: new Array<Uint8Array | undefined>(chunk.total),
        received: 0,
        bytes: 0,
      };
      this.pending.set(chunk.id, entry);
    }
    if (entry.pieces[chunk.index] === undefined) {
      entry.pieces[chunk.index] = chunk.piece;
      entry.received++;
      entry.bytes += chunk.piece.byteLength;
      this.heldBytes += chunk.piece.byteLength;
    }
    if (entry.received < entry.total) return undefined;
    this.pending.delete(chunk.id);
    this.heldBytes -= entry.bytes;
    const payload = new Uint8Array(entry.bytes);
    let offset = 0;
    for (const piece of entry.pieces as Uint8Array[]) {
      payload.set(piece, offset);
      offset += piece.byteLength;
    }
    if (hex(snapshotId(payload)) !== chunk.id) {
      throw new DecodeError('invalid', 'snapshot chunks do not assemble to the snapshot they name');
    }
    return payload;
  }

  /** Number of snapshots partly received. */
  get size(): number {
    return this.pending.size;
  }
}

function hex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}
