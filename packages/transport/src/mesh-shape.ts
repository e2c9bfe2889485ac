import type { ReplicaId } from '@meshwork/core';

export interface MeshShape {
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
  /** Live members other than this node, with the links each announced last in its member record. */
  readonly members: () => ReadonlyMap<ReplicaId, readonly ReplicaId[]>;
}

/** A verdict is kept this long: `full()` is asked once per received message. */
const VERDICT_MS = 100;

/**
 * Tells whether the mesh is full from membership: this node is connected to exactly the live
 * members (a connected peer that is no member cannot be vouched for), and each of them announces
 * links to all the others. Views that differ (a member known to some nodes only, a link that just
 * broke) make the answer err towards "not full". A sparse mesh fails the first check, so the
 * per-member comparison only ever runs where every member is a neighbour.
 */
export function createMeshShape(o: MeshShapeOptions): MeshShape {
  let verdict = { full: false, at: -Infinity };

  const decide = (): boolean => {
    const members = o.members();
    if (members.size === 0) return false;
    const connected = new Set(o.connected());
    if (connected.size !== members.size) return false;
    for (const id of members.keys()) if (!connected.has(id)) return false;
    for (const [id, links] of members) {
      // Its links are every member but itself, and this node.
      const distinct = new Set(links);
      if (distinct.size !== members.size) return false;
      for (const peer of distinct) if (peer === id || (peer !== o.self && !members.has(peer))) return false;
    }
    return true;
  };

  return {
    full() {
      const now = Date.now();
      if (now - verdict.at >= VERDICT_MS) verdict = { full: decide(), at: now };
      return verdict.full;
    },
  };
}
