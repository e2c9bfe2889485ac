import { DecodeError } from '../codec/decode-error.ts';
import type { Reader } from '../codec/reader.ts';
import type { Writer } from '../codec/writer.ts';
import type { ReplicaId } from '../replica.ts';

/** Per-replica monotone counts, joined by pointwise max (the shape of every counter state). */
export type ReplicaCounts = Map<ReplicaId, number>;

export function joinCounts(state: ReplicaCounts, delta: ReplicaCounts): boolean {
  let changed = false;
  for (const [replica, n] of delta) {
    if (n > (state.get(replica) ?? 0)) {
      state.set(replica, n);
      changed = true;
    }
  }
  return changed;
}

export function sumCounts(counts: ReplicaCounts): number {
  let sum = 0;
  for (const n of counts.values()) sum += n;
  return sum;
}

/** Replicas sorted; zero counts are omitted so equal states encode equally. */
export function writeCounts(w: Writer, counts: ReplicaCounts): void {
  const replicas = [...counts.keys()].filter((r) => (counts.get(r) ?? 0) > 0).sort();
  w.uint(replicas.length);
  for (const r of replicas) {
    w.replica(r);
    w.uint(counts.get(r) ?? 0);
  }
}

export function readCounts(r: Reader, what: string): ReplicaCounts {
  const n = r.count(what, 2);
  const counts: ReplicaCounts = new Map();
  let last: ReplicaId | undefined;
  for (let i = 0; i < n; i++) {
    const replica = r.replica(`${what} replica`);
    if (last !== undefined && replica <= last)
      throw new DecodeError('invalid', `${what}: replicas not sorted`);
    last = replica;
    const count = r.uint(`${what} count`);
    if (count === 0) throw new DecodeError('invalid', `${what}: zero count`);
    counts.set(replica, count);
  }
  return counts;
}
