import { Emitter } from '../events/emitter.ts';
import type { ReplicaId } from '../replica.ts';
import type { PresenceEvents, PresenceState } from './presence-channel.ts';

/** The presence listeners, and what they were last told of each node, so they hear only changes. */
export interface PresenceListeners {
  readonly events: Emitter<PresenceEvents>;
  /** Tells listeners `node`'s state (null: gone), unless that is what they were last told. */
  tell(node: ReplicaId, state: PresenceState | null): void;
  /** Forgets what listeners were told of `node` (its record was dropped). */
  forget(node: ReplicaId): void;
}

export function createPresenceListeners(): PresenceListeners {
  // One listener's failure must not starve the others, nor fail the protocol step that told it.
  const events = new Emitter<PresenceEvents>({ onListenerError: () => undefined });
  const told = new Map<ReplicaId, PresenceState | null>();
  return {
    events,
    tell(node, state) {
      const before = told.get(node) ?? null;
      if (state === before) return;
      told.set(node, state);
      events.emit('presence', [node, state]);
    },
    forget: (node) => told.delete(node),
  };
}
