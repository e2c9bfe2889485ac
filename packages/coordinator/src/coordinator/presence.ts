import type { PresenceChannel } from '@meshwork/core';
import type { Clock } from '../clock.ts';
import type { ResourceNeeds, ResourcePools } from '../resources.ts';
import type { Liveness } from './liveness.ts';
import type { Phase } from './phase.ts';
import type { Scheduler } from './scheduler.ts';

export interface PresenceLinkDeps {
  readonly presence: PresenceChannel;
  readonly clock: Clock;
  readonly heartbeatMs: number;
  readonly phase: Readonly<Phase>;
  readonly liveness: Liveness;
  readonly pools: ResourcePools;
  readonly scheduler: Pick<Scheduler, 'schedule'>;
}

/**
 * This node's presence: what its agents want of resource pools, looked at every heartbeat and
 * published when it changed, and membership's news of other nodes, which
 * feeds liveness and grants wanted units. Starts at once; `stop` ends both.
 */
export function startPresenceLink(deps: PresenceLinkDeps): { stop(): void } {
  const { presence, clock, heartbeatMs, phase, liveness, pools, scheduler } = deps;
  let cancelHeartbeat: (() => void) | null = null;
  let due = clock.now();

  const onPresence = presence.on('presence', (peer, state) => {
    liveness.observe(peer, state !== null);
    if (state !== null) {
      const wants = state['wants'];
      if (
        pools.grant !== undefined &&
        typeof wants === 'object' &&
        wants !== null &&
        !Array.isArray(wants) &&
        Object.keys(wants).length > 0
      ) {
        pools.grant(peer, wants as ResourceNeeds);
      }
    }
    // A node seen or lost may decide whether its tasks are lost.
    scheduler.schedule(0);
  });

  // Membership spreads a state only when it changed; comparing here first spares it encoding and
  // comparing the same state every heartbeat.
  let published: string | null = null;
  function heartbeat(): void {
    if (phase.stopped) return;
    // Every heartbeatMs whatever the load: a stall is found when no pass is planned too.
    liveness.ran(due, clock.now());
    const wants = pools.wants?.() ?? {};
    const key = JSON.stringify(Object.entries(wants).sort(([a], [b]) => (a < b ? -1 : 1)));
    if (key !== published) {
      presence.publish({ wants });
      published = key;
    }
    // On multiples of heartbeatMs of the clock, where membership's checks of its links fall too
    // (on multiples of half its heartbeat interval: 250 ms by default, 500 ms in the daemon), so
    // one wake-up of an idle node's event loop serves both whenever they coincide.
    const now = clock.now();
    due = (Math.floor(now / heartbeatMs) + 1) * heartbeatMs;
    cancelHeartbeat = clock.setTimer(heartbeat, due - now);
  }
  heartbeat();

  return {
    stop() {
      cancelHeartbeat?.();
      presence.off('presence', onPresence);
    },
  };
}
