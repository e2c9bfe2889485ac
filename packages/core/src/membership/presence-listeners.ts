import type { ReplicaId } from '../replica.ts';
import type { PresenceState } from './presence-channel.ts';

export type PresenceListener = (peer: ReplicaId, state: PresenceState | null) => void;

/** The presence listeners, and what they were last told of each node, so they hear only changes. */
export interface PresenceListeners {
  add(listener: PresenceListener): () => boolean;
  /** Tells listeners `node`'s state (null: gone), unless that is what they were last told. */
  tell(node: ReplicaId, state: PresenceState | null): void;
  /** Forgets what listeners were told of `node` (its record was dropped). */
  forget(node: ReplicaId): void;
}

export function createPresenceListeners(): PresenceListeners {
  const listeners = new Set<PresenceListener>();
  const told = new Map<ReplicaId, PresenceState | null>();
  return {
    add(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    tell(node, state) {
      const before = told.get(node) ?? null;
      if (state === before) return;
      told.set(node, state);
      for (const l of listeners) {
        try {
          l(node, state);
        } catch {
          // One listener's failure must not starve the others.
        }
      }
    },
    forget: (node) => told.delete(node),
  };
}
