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

/** The delta adding `n` to the count of `replica`: that replica's new count alone. */
export function countsAdd(state: ReplicaCounts, replica: ReplicaId, n: number): ReplicaCounts {
  const total = (state.get(replica) ?? 0) + n;
  const delta: ReplicaCounts = new Map();
  delta.set(replica, total);
  return delta;
}

export function sumCounts(counts: ReplicaCounts): number {
  let sum = 0;
  for (const n of counts.values()) sum += n;
  return sum;
}

/** Replicas sorted; zero counts are omitted so equal states encode equally. */
export function writeCounts(w: Writer, counts: ReplicaCounts): void {
  if (counts.size <= 1) {
    // The shape of a delta: nothing to filter or sort.
    for (const [replica, n] of counts) {
      if (n > 0) {
        w.uint(1);
        w.replica(replica);
        w.uint(n);
        return;
      }
    }
    w.uint(0);
    return;
  }
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
  const replicaWhat = `${what} replica`;
  const countWhat = `${what} count`;
  for (let i = 0; i < n; i++) {
    const replica = r.replica(replicaWhat);
    if (last !== undefined && replica <= last)
      throw new DecodeError('invalid', `${what}: replicas not sorted`);
    last = replica;
    const count = r.uint(countWhat);
    if (count === 0) throw new DecodeError('invalid', `${what}: zero count`);
    counts.set(replica, count);
  }
  return counts;
}
