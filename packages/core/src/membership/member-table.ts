import type { ReplicaId } from '../replica.ts';
import { versionHash, type MemberRecord, type VersionHash } from './member-record.ts';

/**
 * The member records this node holds, one per node, and their digest: an XOR of every record's
 * version hash, kept as records come and go, which neighbours compare in their heartbeats.
 */
export interface MemberTable {
  readonly size: number;
  /** Two 32-bit halves; changes in place. */
  readonly digest: readonly [number, number];
  get(node: ReplicaId): MemberRecord | undefined;
  /** Holds `r` in place of the node's previous record, which it returns. */
  put(r: MemberRecord): MemberRecord | undefined;
  delete(node: ReplicaId): void;
  keys(): IterableIterator<ReplicaId>;
  values(): IterableIterator<MemberRecord>;
  /** The version hash of every record held: the table's summary, for a neighbour to compare. */
  versions(): VersionHash[];
  /** The records whose versions `versions` (a neighbour's summary) does not list. */
  missingFrom(versions: readonly VersionHash[]): MemberRecord[];
}

const versionKey = ([a, b]: VersionHash): string => `${a}.${b}`;

export function createMemberTable(): MemberTable {
  const records = new Map<ReplicaId, MemberRecord>();
  /** Each held record's version hash, worked out once. */
  const hashes = new Map<ReplicaId, VersionHash>();
  const digest: [number, number] = [0, 0];
  const toggle = ([a, b]: VersionHash): void => {
    digest[0] = (digest[0] ^ a) >>> 0;
    digest[1] = (digest[1] ^ b) >>> 0;
  };
  return {
    get size() {
      return records.size;
    },
    digest,
    get: (node) => records.get(node),
    put(r) {
      const before = records.get(r.node);
      const old = hashes.get(r.node);
      if (old !== undefined) toggle(old);
      const hash = versionHash(r);
      records.set(r.node, r);
      hashes.set(r.node, hash);
      toggle(hash);
      return before;
    },
    delete(node) {
      const old = hashes.get(node);
      if (old === undefined) return;
      toggle(old);
      records.delete(node);
      hashes.delete(node);
    },
    keys: () => records.keys(),
    values: () => records.values(),
    versions: () => [...hashes.values()],
    missingFrom(versions) {
      const listed = new Set(versions.map(versionKey));
      const out: MemberRecord[] = [];
      for (const [node, hash] of hashes) if (!listed.has(versionKey(hash))) out.push(records.get(node)!);
      return out;
    },
  };
}

/** Who `self` reaches over links both ends confirm (its own from `live`, the freshest). */
export function reachableFrom(
  self: ReplicaId,
  live: ReadonlySet<ReplicaId>,
  table: MemberTable,
): Set<ReplicaId> {
  const seen = new Set<ReplicaId>([self]);
  const queue: ReplicaId[] = [self];
  for (let i = 0; i < queue.length; i++) {
    const u = queue[i]!;
    const links = u === self ? live : table.get(u)!.links;
    for (const v of links) {
      if (seen.has(v)) continue;
      const rv = table.get(v);
      if (rv === undefined || rv.status !== 'alive') continue;
      if (!rv.links.includes(u)) continue;
      seen.add(v);
      queue.push(v);
    }
  }
  return seen;
}
