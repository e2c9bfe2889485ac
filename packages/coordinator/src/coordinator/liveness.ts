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
  /** Whether each node membership told of was last reachable; a node gone is false. */
  const reachable = new Map<ReplicaId, boolean>();
  let changed = false;
  let version = 0;
  return {
    alive: (node) => node === replica || presence.status(node) === 'alive',
    gone: (node) => node !== replica && reachable.get(node) === false,
    observe(node, now) {
      const before = reachable.get(node);
      if (before === now) return;
      reachable.set(node, now);
      version++;
      // A node first heard of is not one that came back.
      if (before !== undefined || !now) changed = true;
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
