import type { AgentId, AttemptEnd } from './model.ts';
import type { AgentStats } from './scoring.ts';

/** Each agent's track record from the attempt ends this replica has loaded, for scoring claims. */
export interface AgentStatsTable {
  /** Counts an attempt end; call once per end record. */
  count(end: AttemptEnd): void;
  get(agent: AgentId): AgentStats;
  clear(): void;
}

export function createAgentStatsTable(): AgentStatsTable {
  const stats = new Map<AgentId, { successes: number; failures: number; latencySum: number }>();
  return {
    count(end) {
      const s = stats.get(end.agent) ?? { successes: 0, failures: 0, latencySum: 0 };
      if (end.outcome === 'succeeded') {
        s.successes++;
        s.latencySum += end.endedAt - end.startedAt;
      } else if (end.outcome === 'failed' || end.outcome === 'timed-out') s.failures++;
      stats.set(end.agent, s);
    },
    get(agent) {
      const s = stats.get(agent);
      if (s === undefined) return { successes: 0, failures: 0, meanLatencyMs: null };
      return {
        successes: s.successes,
        failures: s.failures,
        meanLatencyMs: s.successes === 0 ? null : s.latencySum / s.successes,
      };
    },
    clear: () => stats.clear(),
  };
}
