import type { ReplicaId } from '@meshwork/core';

export type ResourceNeeds = { readonly [pool: string]: number };

/** `a` and `b` together: what two tasks need at once. */
export function addNeeds(a: ResourceNeeds, b: ResourceNeeds): ResourceNeeds {
  const sum: Record<string, number> = { ...a };
  for (const [pool, n] of Object.entries(b)) sum[pool] = (sum[pool] ?? 0) + n;
  return sum;
}

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
