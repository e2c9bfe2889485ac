import { createHash } from 'node:crypto';
import type { ReplicaId } from '@meshwork/core';

/** What a member's latest presence update said of its links, and when it came. */
export interface MemberLinks {
  /** Digest of the member and the members it is connected to (see {@link linksDigest}). */
  readonly links: Uint8Array;
  readonly heardAt: number;
}

export interface MeshShape {
  /** This node's links, sent with its presence: itself and the members it is connected to. */
  links(): Uint8Array;
  /**
   * Whether every member is connected to every other, as far as this node can tell. There a
   * message reaches every node straight from its author (gossipsub floods what it publishes to
   * every subscribed peer), so forwarding it only sends duplicates.
   */
  full(): boolean;
}

export interface MeshShapeOptions {
  readonly self: ReplicaId;
  /** Peers with an open connection. */
  readonly connected: () => Iterable<ReplicaId>;
  /** Members heard from over presence, with the links they announced. */
  readonly members: () => ReadonlyMap<ReplicaId, MemberLinks>;
  /** A member not heard from for this long no longer counts. */
  readonly freshMs: number;
  readonly now: () => number;
}

export const LINKS_DIGEST_BYTES = 8;

/** Digest of a set of replicas, whatever their order. */
export function linksDigest(replicas: Iterable<ReplicaId>): Uint8Array {
  const h = createHash('sha256').update([...replicas].sort().join('\n'));
  return new Uint8Array(h.digest().subarray(0, LINKS_DIGEST_BYTES));
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean =>
  a.byteLength === b.byteLength && a.every((x, i) => x === b[i]);

/** A verdict is kept this long: `full()` is asked once per received message. */
const VERDICT_MS = 100;

/**
 * Tells whether the mesh is full from presence: this node is connected to exactly the members
 * heard from lately (a connected peer that announces nothing cannot be vouched for), and each of
 * them announces links to that same set. Views that differ (a member heard by some nodes only, a
 * link that just broke) make the digests differ, so the answer errs towards "not full".
 */
export function createMeshShape(o: MeshShapeOptions): MeshShape {
  let verdict = { full: false, at: -Infinity };

  const fresh = (announced: ReadonlyMap<ReplicaId, MemberLinks>): Set<ReplicaId> => {
    const since = o.now() - o.freshMs;
    const out = new Set<ReplicaId>();
    for (const [id, m] of announced) if (id !== o.self && m.heardAt >= since) out.add(id);
    return out;
  };

  const decide = (): boolean => {
    const announced = o.members();
    const members = fresh(announced);
    if (members.size === 0) return false;
    const connected = new Set(o.connected());
    if (connected.size !== members.size) return false;
    for (const id of members) if (!connected.has(id)) return false;
    const whole = linksDigest([o.self, ...members]);
    for (const id of members) if (!sameBytes(announced.get(id)!.links, whole)) return false;
    return true;
  };

  return {
    links() {
      const members = fresh(o.members());
      return linksDigest([o.self, ...[...o.connected()].filter((id) => members.has(id))]);
    },
    full() {
      const now = o.now();
      if (now - verdict.at >= VERDICT_MS) verdict = { full: decide(), at: now };
      return verdict.full;
    },
  };
}
