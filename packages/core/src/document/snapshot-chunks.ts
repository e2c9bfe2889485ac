import { digest as sha256 } from 'lib0/hash/sha256';
import { DecodeError } from '../codec/decode-error.ts';
import { defaultDecodeLimits, type DecodeLimits } from '../codec/limits.ts';
import { Reader } from '../codec/reader.ts';
import { Writer } from '../codec/writer.ts';
import { InvalidArgumentError } from '../types/errors.ts';
import { MessageKind, readHeader, writeHeader } from './messages.ts';

/** Snapshot ids are the first bytes of the payload's SHA-256: equal snapshots share an id. */
const ID_BYTES = 16;
/** Bytes of a piece's own SHA-256 in its chunk, so a corrupted chunk is caught as it arrives. */
const PIECE_HASH_BYTES = 8;
/** Header room reserved in every chunk: version, kind, id, piece hash, index, total, piece size, piece length. */
const CHUNK_OVERHEAD = 2 + 1 + ID_BYTES + 1 + PIECE_HASH_BYTES + 5 + 5 + 5 + 5;
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
    throw new InvalidArgumentError(
      `snapshot maxChunkBytes must be an integer >= ${MIN_CHUNK_BYTES}, got ${maxChunkBytes}`,
    );
  }
  const id = snapshotId(payload);
  const pieceBytes = maxChunkBytes - CHUNK_OVERHEAD;
  const total = Math.max(1, Math.ceil(payload.byteLength / pieceBytes));
  const chunks: Uint8Array[] = [];
  for (let index = 0; index < total; index++) {
    const piece = payload.subarray(index * pieceBytes, (index + 1) * pieceBytes);
    const w = new Writer();
    writeHeader(w, MessageKind.SnapshotChunk);
    w.bytes(id);
    w.bytes(pieceHash(piece));
    w.uint(index);
    w.uint(total);
    w.uint(pieceBytes);
    w.bytes(piece);
    chunks.push(w.finish());
  }
  return chunks;
}

function pieceHash(piece: Uint8Array): Uint8Array {
  return sha256(piece).subarray(0, PIECE_HASH_BYTES);
}

/** One decoded chunk message. */
export interface SnapshotChunk {
  /** The snapshot's id (hex). */
  readonly id: string;
  /**
   * The assembly the chunk belongs to: the snapshot and how it was cut, so chunks of one
   * state cut at different sizes assemble side by side instead of refusing each other.
   */
  readonly key: string;
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
  const hash = r.bytes('snapshot chunk hash');
  if (hash.byteLength !== PIECE_HASH_BYTES) {
    throw new DecodeError('invalid', `snapshot chunk hash of ${hash.byteLength} bytes`);
  }
  const index = r.uint('snapshot chunk index');
  const total = r.uint('snapshot chunk count');
  if (total === 0 || total > limits.maxEntries) {
    throw new DecodeError('invalid', `snapshot chunk count ${total}`);
  }
  if (index >= total) throw new DecodeError('invalid', `snapshot chunk index ${index} of ${total}`);
  const size = r.uint('snapshot piece size');
  const piece = r.bytes('snapshot chunk piece');
  r.end('snapshot chunk');
  const last = index === total - 1;
  if (size === 0 || (last ? piece.byteLength > size || piece.byteLength === 0 : piece.byteLength !== size)) {
    if (!(total === 1 && piece.byteLength === 0)) {
      throw new DecodeError(
        'invalid',
        `snapshot chunk ${index}: piece of ${piece.byteLength} bytes, size ${size}`,
      );
    }
  }
  const id = hex(idBytes);
  if (hex(pieceHash(piece)) !== hex(hash)) {
    throw new DecodeError('invalid', `snapshot ${id}: chunk ${index} of ${total} is corrupt`);
  }
  return { id, key: `${id}/${size}/${total}`, index, total, piece };
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
    const known = this.pending.get(chunk.key);
    const pendingBytes = (known?.bytes ?? 0) + chunk.piece.byteLength;
    if (pendingBytes > this.limits.maxMessageBytes) {
      throw new DecodeError('too_large', `snapshot exceeds ${this.limits.maxMessageBytes} bytes`);
    }
    return chunk;
  }

  /**
   * Stores a checked chunk. Returns the whole payload once every chunk of its
   * snapshot is in (and forgets that snapshot), otherwise undefined.
   * Throws DecodeError when the assembled payload does not match its id.
   */
  add(chunk: SnapshotChunk): Uint8Array | undefined {
    let entry = this.pending.get(chunk.key);
    // Make room by dropping the oldest other snapshots (their senders will retry).
    for (const [id, other] of this.pending) {
      const full = this.pending.size >= MAX_PENDING && entry === undefined;
      if (!full && this.heldBytes + chunk.piece.byteLength <= this.limits.maxMessageBytes) break;
      if (id === chunk.key) continue;
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
      this.pending.set(chunk.key, entry);
    }
    if (entry.pieces[chunk.index] === undefined) {
      entry.pieces[chunk.index] = chunk.piece;
      entry.received++;
      entry.bytes += chunk.piece.byteLength;
      this.heldBytes += chunk.piece.byteLength;
    }
    if (entry.received < entry.total) return undefined;
    this.pending.delete(chunk.key);
    this.heldBytes -= entry.bytes;
    const payload = new Uint8Array(entry.bytes);
    let offset = 0;
    for (const piece of entry.pieces as Uint8Array[]) {
      payload.set(piece, offset);
      offset += piece.byteLength;
    }
    if (hex(snapshotId(payload)) !== chunk.id) {
      // Every piece matched its own hash: a sender made up a chunk. The assembly is gone; the
      // snapshot must come again.
      throw new DecodeError(
        'invalid',
        `snapshot ${chunk.id}: chunks do not assemble to the snapshot they name`,
      );
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
