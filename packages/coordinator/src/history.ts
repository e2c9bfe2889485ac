import type { Document } from '@meshwork/core';
import type { AgentId, AttemptEnd } from './model.ts';
import type { AgentStats } from './scoring.ts';

/** Past success and latency of agents, recorded as attempts end, read when scoring. */
export interface AgentHistory {
  record(end: AttemptEnd): void;
  stats(agent: AgentId, now: number): AgentStats;
}

/**
 * Agent history in a TimeSeries member: per agent, one point per attempt for its outcome
 * (1 succeeded, 0 failed) and its run time. Scoring reads a rollup over `windowMs`, cached
 * for `cacheMs`, so every replica ranks agents by the same mesh-wide history.
 */
export function createDocumentHistory(
  doc: Document,
  options: { readonly member?: string; readonly windowMs?: number; readonly cacheMs?: number } = {},
): AgentHistory {
  const series = doc.timeSeries(options.member ?? 'agent-history');
  const windowMs = options.windowMs ?? 3_600_000;
  const cacheMs = options.cacheMs ?? 1000;
  const cache = new Map<AgentId, { at: number; stats: AgentStats }>();
  return {
    record(end) {
      if (end.outcome !== 'succeeded' && end.outcome !== 'failed' && end.outcome !== 'timed-out') return;
      doc.transact(() => {
        const at = Math.round(end.endedAt);
        series.append(`${end.agent}/outcome`, end.outcome === 'succeeded' ? 1 : 0, at);
        if (end.outcome === 'succeeded')
          series.append(`${end.agent}/latency`, end.endedAt - end.startedAt, at);
      });
    },
    stats(agent, now) {
      const hit = cache.get(agent);
      if (hit !== undefined && now - hit.at < cacheMs) return hit.stats;
      const from = Math.max(0, now - windowMs);
      const total = (name: string): { count: number; sum: number } =>
        series
          .rollup(`${agent}/${name}`, windowMs, from, now + 1)
          .reduce((t, b) => ({ count: t.count + b.count, sum: t.sum + b.sum }), { count: 0, sum: 0 });
      const outcomes = total('outcome');
      const latency = total('latency');
      const stats: AgentStats = {
        successes: outcomes.sum,
        failures: outcomes.count - outcomes.sum,
        meanLatencyMs: latency.count === 0 ? null : latency.sum / latency.count,
      };
      cache.set(agent, { at: now, stats });
      return stats;
    },
  };
}
