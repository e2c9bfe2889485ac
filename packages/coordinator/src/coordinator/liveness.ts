import type { PresenceChannel, ReplicaId } from '@meshwork/core';

/**
 * Which nodes this replica takes to be alive: reachable over live links, by the membership behind
 * `presence` (see @meshwork/core's createMembership).
 */
export interface Liveness {
  alive(node: ReplicaId): boolean;
  /** Unreachable or left. A node never heard of (we just started) is left to its lease. */
  gone(node: ReplicaId): boolean;
  /** Membership told of `node`: reachable again (true) or gone (false). */
  observe(node: ReplicaId, reachable: boolean): void;
  /** Whether a node went or came back since the last call: its tasks may change hands. */
  takeChanged(): boolean;
  /** Changes whenever a node becomes reachable or unreachable: what `alive` answers may have changed. */
  readonly version: number;
}

export function createLiveness(presence: PresenceChannel, replica: ReplicaId): Liveness {
  const gone = new Set<ReplicaId>();
  /** Whether each node was last observed reachable. */
  const reachableNow = new Map<ReplicaId, boolean>();
  let changed = false;
  let version = 0;
  return {
    alive: (node) => node === replica || presence.status(node) === 'alive',
    gone: (node) => node !== replica && gone.has(node),
    observe(node, reachable) {
      if (reachable ? gone.delete(node) : !gone.has(node)) changed = true;
      if (!reachable) gone.add(node);
      if (reachableNow.get(node) !== reachable) version++;
      reachableNow.set(node, reachable);
    },
    takeChanged() {
      const was = changed;
      changed = false;
      return was;
    },
    get version() {
      return version;
    },
  };
}
