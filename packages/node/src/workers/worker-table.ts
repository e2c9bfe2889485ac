import type { PullWorker } from './pull-worker.ts';
import { RecentMap } from './recent-map.ts';
import type { Refuse } from './refusal.ts';

/** Why a worker left. */
export type Departure = 'expired' | 'unregistered';

/** The registered workers by id and by agent, and the recently departed, to tell a late caller what became of it. */
export interface WorkerTable {
  readonly size: number;
  get(workerId: string): PullWorker | undefined;
  values(): IterableIterator<PullWorker>;
  hasAgent(agentId: string): boolean;
  add(w: PullWorker): void;
  /** Forgets the worker, remembering when and why it left. */
  delete(w: PullWorker, why: Departure): void;
  /** The registered worker, or the refusal for its id; a gone worker's reports about attempts are stale. */
  live(workerId: string, aboutAttempt: boolean): PullWorker;
}

export function createWorkerTable(deps: {
  readonly leaseMs: number;
  readonly remember: number;
  readonly refuse: Refuse;
  readonly now: () => number;
}): WorkerTable {
  const { leaseMs, refuse, now } = deps;
  const workers = new Map<string, PullWorker>();
  const agents = new Map<string, string>();
  const gone = new RecentMap<string, { readonly why: Departure; readonly at: number }>(deps.remember);
  return {
    get size() {
      return workers.size;
    },
    get: (workerId) => workers.get(workerId),
    values: () => workers.values(),
    hasAgent: (agentId) => agents.has(agentId),
    add(w) {
      workers.set(w.id, w);
      agents.set(w.agentId, w.id);
    },
    delete(w, why) {
      workers.delete(w.id);
      agents.delete(w.agentId);
      gone.set(w.id, { why, at: now() });
    },
    live(workerId, aboutAttempt) {
      const w = workers.get(workerId);
      if (w !== undefined) return w;
      const g = gone.get(workerId);
      if (g === undefined)
        throw refuse('unknown_worker', `no worker ${workerId} is registered on this node`, 'workerId');
      const when = new Date(g.at).toISOString();
      const what =
        g.why === 'expired'
          ? `worker ${workerId} expired at ${when} (no call for ${leaseMs} ms) and its tasks were handed to other agents`
          : `worker ${workerId} was unregistered at ${when}`;
      if (aboutAttempt) throw refuse('stale_attempt', `${what}: this report changes nothing`, 'workerId');
      if (g.why === 'expired') throw refuse('worker_expired', `${what}: register again`, 'workerId');
      throw refuse('unknown_worker', what, 'workerId');
    },
  };
}
