import type { PresenceChannel, ReplicaId } from '@meshwork/core';

/**
 * Which nodes this replica takes to be alive: reachable over live links, by the membership behind
 * `presence` (see @meshwork/core's createMembership).
 */
export interface Liveness {
  alive(node: ReplicaId): boolean;
  /** Unreachable or left. A node never heard of (we just started) is left to its lease. */
  gone(node: ReplicaId): boolean;
  /** Since when `node` has been gone (this replica's clock), or undefined while it is not. */
  goneSince(node: ReplicaId): number | undefined;
  /** Membership told of `node`: reachable again (true) or gone (false). */
  observe(node: ReplicaId, reachable: boolean): void;
  /** Whether a node went or came back since the last call: its tasks may change hands. */
  takeChanged(): boolean;
  /** Changes whenever a node becomes reachable or unreachable: what `alive` answers may have changed. */
  readonly version: number;
}

export function createLiveness(presence: PresenceChannel, replica: ReplicaId, now: () => number): Liveness {
  /** Whether each node membership told of was last reachable; a node gone is false. */
  const reachable = new Map<ReplicaId, boolean>();
  const goneAt = new Map<ReplicaId, number>();
  let changed = false;
  let version = 0;
  return {
    alive: (node) => node === replica || presence.status(node) === 'alive',
    gone: (node) => node !== replica && reachable.get(node) === false,
    goneSince: (node) => (node === replica ? undefined : goneAt.get(node)),
    observe(node, isReachable) {
      const before = reachable.get(node);
      if (before === isReachable) return;
      reachable.set(node, isReachable);
      if (isReachable) goneAt.delete(node);
      else goneAt.set(node, now());
      version++;
      // A node first heard of is not one that came back.
      if (before !== undefined || !isReachable) changed = true;
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
