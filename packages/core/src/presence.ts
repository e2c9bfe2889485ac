import type { Value } from './codec/value.ts';
import type { ReplicaId } from './replica.ts';

/** An agent node's ephemeral state: load, current tasks. Never written to the CRDT log. */
export type PresenceState = { readonly [key: string]: Value };

/**
 * Ephemeral heartbeats between replicas. The transport implements it (awareness
 * updates on a presence topic); the coordinator consumes it for failure detection.
 */
export interface PresenceChannel {
  readonly self: ReplicaId;
  /** Announces this replica's state; also serves as a heartbeat. */
  publish(state: PresenceState): void;
  /** Calls `listener` on every heartbeat received; `null` when the peer left cleanly. Returns an unsubscribe function. */
  onPresence(listener: (peer: ReplicaId, state: PresenceState | null) => void): () => void;
}
