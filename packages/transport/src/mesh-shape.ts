import { createHash } from 'node:crypto';
import type { ReplicaId } from '@meshwork/core';

export interface MeshShape {
  /** This node's links, announced with its membership record: itself and the members it is connected to. */
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
  /** Live members, with the link digest each announced last. */
  readonly members: () => ReadonlyMap<ReplicaId, Uint8Array>;
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
 * Tells whether the mesh is full from membership: this node is connected to exactly the live
 * members (a connected peer that is no member cannot be vouched for), and each of them announces
 * links to that same set. Views that differ (a member known to some nodes only, a link that just
 * broke) make the digests differ, so the answer errs towards "not full".
 */
export function createMeshShape(o: MeshShapeOptions): MeshShape {
  let verdict = { full: false, at: -Infinity };

  const decide = (): boolean => {
    const members = o.members();
    if (members.size === 0) return false;
    const connected = new Set(o.connected());
    if (connected.size !== members.size) return false;
    for (const id of members.keys()) if (!connected.has(id)) return false;
    const whole = linksDigest([o.self, ...members.keys()]);
    for (const links of members.values()) if (!sameBytes(links, whole)) return false;
    return true;
  };

  return {
    links() {
      const members = o.members();
      return linksDigest([o.self, ...[...o.connected()].filter((id) => members.has(id))]);
    },
    full() {
      const now = Date.now();
      if (now - verdict.at >= VERDICT_MS) verdict = { full: decide(), at: now };
      return verdict.full;
    },
  };
}
