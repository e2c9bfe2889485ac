import type { ReplicaId } from '@meshwork/core';
import type { PhiDetector } from '../phi.ts';

/** Which nodes this replica takes to be alive, by the phi detector over their heartbeats. */
export interface Liveness {
  alive(node: ReplicaId, now: number): boolean;
  /** Heard from, then silent. A node never heard from (we just started) is left to its lease. */
  suspected(node: ReplicaId, now: number): boolean;
  /** The suspected nodes as one string, to tell whether the set changed since a pass. */
  suspects(now: number): string;
}

export function createLiveness(phi: PhiDetector, replica: ReplicaId): Liveness {
  const suspected = (node: ReplicaId, now: number): boolean =>
    node !== replica && phi.knows(node) && !phi.isAlive(node, now);
  return {
    alive: (node, now) => node === replica || phi.isAlive(node, now),
    suspected,
    suspects: (now) => [...phi.peers()].filter((node) => suspected(node, now)).join(' '),
  };
}
