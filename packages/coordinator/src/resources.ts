/**
 * Where a node takes the resources a task needs. `tryAcquire` takes all of them or none
 * and returns the release function; `available` is a cheap check used before claiming.
 */
export interface ResourcePools {
  available(needs: { readonly [pool: string]: number }): boolean;
  tryAcquire(needs: { readonly [pool: string]: number }): (() => void) | null;
}

/** No pools: tasks that need no resources run anywhere; tasks that need some run nowhere. */
export const noPools: ResourcePools = {
  available: (needs) => Object.keys(needs).length === 0,
  tryAcquire: (needs) => (Object.keys(needs).length === 0 ? () => {} : null),
};
