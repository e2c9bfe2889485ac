import { DecodeError } from '../codec/decode-error.ts';
import type { Reader } from '../codec/reader.ts';
import type { Writer } from '../codec/writer.ts';
import type { ReplicaId } from '../replica.ts';

/** A hybrid logical clock reading: physical ms, a logical counter, and the replica that made it. */
export interface Timestamp {
  readonly wall: number;
  readonly logical: number;
  readonly replica: ReplicaId;
}

/**
 * Largest logical counter a timestamp carries. Far beyond any burst of readings within one
 * millisecond; a clock that would pass it moves to the next millisecond instead, and a decoded
 * timestamp past it is refused, so every counter a replica accepts stays one it can write.
 */
export const MAX_LOGICAL = 2 ** 32 - 1;

/** Reads a logical counter, refusing one past {@link MAX_LOGICAL}. */
export function readLogical(r: Reader, what: string): number {
  const logical = r.uint(what);
  if (logical > MAX_LOGICAL) throw new DecodeError('invalid', `${what} ${logical} exceeds ${MAX_LOGICAL}`);
  return logical;
}

/** Total order: wall, then logical, then replica id (the tie-break that makes LWW deterministic). */
export function compareTimestamps(a: Timestamp, b: Timestamp): number {
  if (a.wall !== b.wall) return a.wall < b.wall ? -1 : 1;
  if (a.logical !== b.logical) return a.logical < b.logical ? -1 : 1;
  if (a.replica === b.replica) return 0;
  return a.replica < b.replica ? -1 : 1;
}

export function writeTimestamp(w: Writer, ts: Timestamp): void {
  w.uint(ts.wall);
  w.uint(ts.logical);
  w.replica(ts.replica);
}

export function readTimestamp(r: Reader, what = 'timestamp'): Timestamp {
  const wall = r.uint(`${what} wall`);
  const logical = readLogical(r, `${what} logical`);
  const replica = r.replica(`${what} replica`);
  return { wall, logical, replica };
}
