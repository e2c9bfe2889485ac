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
  /** Each held record with its version hash, worked out once. */
  const entries = new Map<ReplicaId, { readonly record: MemberRecord; readonly hash: VersionHash }>();
  const digest: [number, number] = [0, 0];
  const toggle = ([a, b]: VersionHash): void => {
    digest[0] = (digest[0] ^ a) >>> 0;
    digest[1] = (digest[1] ^ b) >>> 0;
  };
  return {
    get size() {
      return entries.size;
    },
    digest,
    get: (node) => entries.get(node)?.record,
    put(r) {
      const before = entries.get(r.node);
      if (before !== undefined) toggle(before.hash);
      const hash = versionHash(r);
      entries.set(r.node, { record: r, hash });
      toggle(hash);
      return before?.record;
    },
    delete(node) {
      const before = entries.get(node);
      if (before === undefined) return;
      toggle(before.hash);
      entries.delete(node);
    },
    keys: () => entries.keys(),
    *values() {
      for (const e of entries.values()) yield e.record;
    },
    versions: () => [...entries.values()].map((e) => e.hash),
    missingFrom(versions) {
      const listed = new Set(versions.map(versionKey));
      return [...entries.values()].filter((e) => !listed.has(versionKey(e.hash))).map((e) => e.record);
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
