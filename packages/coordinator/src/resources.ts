import type { ReplicaId } from '@meshwork/core';

export type ResourceNeeds = { readonly [pool: string]: number };

/**
 * Where a node takes the resources a task needs. `tryAcquire` takes all of them or none
 * and returns the release function; `available` is a cheap check before claiming. Pools
 * shared mesh-wide also say what this node lacks (`wants`, sent with its heartbeats) and
 * hand spare units to peers that lack them (`grant`).
 */
export interface ResourcePools {
  available(needs: ResourceNeeds): boolean;
  tryAcquire(needs: ResourceNeeds): (() => void) | null;
  wants?(): ResourceNeeds;
  grant?(peer: ReplicaId, wants: ResourceNeeds): void;
}

/** No pools: tasks that need no resources run anywhere; tasks that need some run nowhere. */
export const noPools: ResourcePools = {
  available: (needs) => Object.keys(needs).length === 0,
  tryAcquire: (needs) => (Object.keys(needs).length === 0 ? () => {} : null),
};
