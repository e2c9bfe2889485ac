import type { Observable } from '@meshwork/core';
import type { CoordinatorEvents } from '@meshwork/coordinator';
import type { Logger } from './logger.ts';

/**
 * The daemon's log lines for what its coordinator decides about other attempts than its own
 * agents' (those log themselves, see agents.ts): an epoch declared lost, a stall and the hold
 * after it, the hold of a replica cut off, finished tasks removed. Each key once per line: the
 * logger's base already names this node `node`, so the holder of a lost epoch is `holder`.
 */
export function logCoordinatorEvents(events: Observable<CoordinatorEvents>, logger: Logger): void {
  events.on('failover', (e) =>
    logger.info(
      { task: e.task, epoch: e.epoch, agent: e.agent, holder: e.node, reason: e.reason, started: e.started },
      'attempt declared lost',
    ),
  );
  events.on('stalled', (e) =>
    logger.warn(
      { stalledMs: Math.round(e.to - e.from), holdMs: Math.round(e.holdUntil - e.to) },
      e.reason === 'woke' ? 'event loop stalled' : 'nodes lost in the wake of a stall: holding longer',
    ),
  );
  events.on('isolated', (e) =>
    logger.warn(
      { lost: e.lost, holdMs: Math.round(e.holdUntil - e.at) },
      'lost every other node at once: holding until one is reachable again',
    ),
  );
  events.on('removed', (e) =>
    logger.debug({ tasks: e.tasks.length, run: e.run }, 'finished tasks removed after the retention period'),
  );
}
