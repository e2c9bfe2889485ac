import type { PresenceChannel } from '@meshwork/core';
import type { Clock } from '../clock.ts';
import type { PhiDetector } from '../phi.ts';
import type { ResourceNeeds, ResourcePools } from '../resources.ts';
import type { TaskIndex } from '../task-index.ts';
import type { LocalAgents } from './agents.ts';
import type { Phase } from './phase.ts';
import type { Scheduler } from './scheduler.ts';

export interface PresenceLinkDeps {
  readonly presence: PresenceChannel;
  readonly clock: Clock;
  readonly heartbeatMs: number;
  readonly phase: Readonly<Phase>;
  readonly phi: PhiDetector;
  readonly pools: ResourcePools;
  readonly index: TaskIndex;
  readonly agents: Pick<LocalAgents, 'infos'>;
  readonly scheduler: Pick<Scheduler, 'schedule'>;
}

/**
 * This node's presence: heartbeats out (its agents' load, the pool units it wants) and peers'
 * heartbeats in, which feed the phi detector and grant wanted units. Starts at once; `stop` ends both.
 */
export function startPresenceLink(deps: PresenceLinkDeps): { stop(): void } {
  const { presence, clock, heartbeatMs, phase, phi, pools, index, agents, scheduler } = deps;
  let cancelHeartbeat: (() => void) | null = null;

  const unsubscribe = presence.onPresence((peer, state) => {
    if (state === null) phi.forget(peer);
    else {
      phi.heartbeat(peer, clock.now());
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

  function heartbeat(): void {
    if (phase.stopped) return;
    const load: Record<string, number> = {};
    for (const id of agents.infos.keys()) load[id] = index.load(id);
    presence.publish({ at: clock.now(), load, wants: pools.wants?.() ?? {} });
    cancelHeartbeat = clock.setTimer(heartbeat, heartbeatMs);
  }
  heartbeat();

  return {
    stop() {
      cancelHeartbeat?.();
      unsubscribe();
    },
  };
}
