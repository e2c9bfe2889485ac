import type { MemberStatus, PresenceChannel, ReplicaId } from '@meshwork/core';
import type { Logger } from './logger.ts';

/**
 * The daemon's log lines for membership's view of the other nodes, one per change of a node's
 * status (its presence state changes far more often and is not logged): `node joined` when a
 * node is seen reachable first or after it left, `node unreachable`, `node reachable again` (with
 * how long it was not), `node left`. Failover follows from these, so they date a lost node's part
 * in a failover.
 */
export function logMembership(presence: PresenceChannel, logger: Logger): void {
  const last = new Map<ReplicaId, { status: MemberStatus; since: number }>();
  presence.on('presence', (peer, state) => {
    if (peer === presence.self) return;
    const status: MemberStatus =
      state !== null ? 'alive' : presence.status(peer) === 'left' ? 'left' : 'unreachable';
    const before = last.get(peer);
    if (before?.status === status) return;
    const now = Date.now();
    last.set(peer, { status, since: now });
    if (status === 'left') logger.info({ peer }, 'node left');
    else if (status === 'unreachable') logger.info({ peer }, 'node unreachable');
    else if (before === undefined || before.status === 'left') logger.info({ peer }, 'node joined');
    else logger.info({ peer, unreachableMs: now - before.since }, 'node reachable again');
  });
}
