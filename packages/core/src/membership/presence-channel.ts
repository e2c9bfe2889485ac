import type { Value } from '../codec/value.ts';
import type { Observable } from '../events/emitter.ts';
import type { ReplicaId } from '../replica.ts';

/**
 * What this node believes of another. `alive`: reachable over links that both of their ends
 * confirm live. `unreachable`: known, but no such path leads to it (it died, or a partition lies
 * between). `left`: it said goodbye.
 */
export type MemberStatus = 'alive' | 'unreachable' | 'left';

/** A node's ephemeral state (what its agents want of resource pools). Never written to the CRDT log. */
export type PresenceState = { readonly [key: string]: Value };

/**
 * What presence tells: `presence` when a node becomes reachable or changes its state (its state),
 * and when it becomes unreachable or leaves (`null`). A listener that throws does not keep the
 * others from hearing the change, nor fail the membership protocol: its error is dropped.
 */
export interface PresenceEvents {
  presence: (peer: ReplicaId, state: PresenceState | null) => void;
}

/**
 * Who is in the mesh, and each node's announced state. createMembership implements it
 * over neighbour links; the coordinator consumes it for failure detection.
 */
export interface PresenceChannel extends Observable<PresenceEvents> {
  readonly self: ReplicaId;
  /** Announces this node's state; spread only when it differs from the last one. */
  publish(state: PresenceState): void;
  /** What the mesh believes of `node`; `undefined` when never heard of. */
  status(node: ReplicaId): MemberStatus | undefined;
  /** Every node with a record, this one included. */
  members(): Iterable<ReplicaId>;
}
