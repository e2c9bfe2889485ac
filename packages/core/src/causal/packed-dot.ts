import type { ReplicaId } from '../replica.ts';

/** One dot as `slot * 2^25 + seq`, within V8's small-integer range; slots intern replica ids process-wide. */
export type PackedDot = number;

const SEQ_SPAN = 2 ** 25;
const SLOTS = 64;
const slotOf = new Map<ReplicaId, number>();
const slotReplica: ReplicaId[] = [];

/**
 * Slots are taken only by dots that enter a live state (`allocate`), never while decoding: a
 * message that is then refused must not use up the process-wide slots.
 */
export function pack(replica: ReplicaId, seq: number, allocate: boolean): PackedDot | undefined {
  if (seq >= SEQ_SPAN) return undefined;
  let slot = slotOf.get(replica);
  if (slot === undefined) {
    if (!allocate || slotReplica.length >= SLOTS) return undefined;
    slot = slotReplica.length;
    slotOf.set(replica, slot);
    slotReplica.push(replica);
  }
  return slot * SEQ_SPAN + seq;
}

export function packedReplica(p: PackedDot): ReplicaId {
  return slotReplica[Math.floor(p / SEQ_SPAN)] as ReplicaId;
}

export function packedSeq(p: PackedDot): number {
  return p % SEQ_SPAN;
}

/** Replica ids holding a packed-dot slot in this process (for tests of what takes one). */
export function packedSlots(): number {
  return slotReplica.length;
}
