import type { Document } from '@meshwork/core';
import type { AgentId, AttemptEnd } from './model.ts';
import type { Clock } from './clock.ts';
import type { AgentStats } from './scoring.ts';

/** Past success and latency of agents, recorded as attempts end, read when scoring. */
export interface AgentHistory {
  /** Records attempts that ended; they are written with the others of their `flushMs`. */
  record(ends: readonly AttemptEnd[]): void;
  stats(agent: AgentId, now: number): AgentStats;
  /** Writes what is recorded and not written yet (the coordinator calls it when it stops). */
  flush(): void;
}

interface Tally {
  attempts: number;
  successes: number;
  latencyMs: number;
  at: number;
}

/**
 * Agent history in a TimeSeries member. Ended attempts are tallied per agent and written at
 * most once per `flushMs`: per agent, one point for the attempts that counted (succeeded,
 * failed or timed out), one for the successes and one for their summed run time. So the
 * series grows with time, not with load: scoring sums at most a few thousand points per agent
 * over its hour, however many passes wrote ends. Scoring reads sums over `windowMs`, cached for
 * `cacheMs`, so every replica ranks agents by the same mesh-wide history, at most `flushMs`
 * behind. Points older than the window are dropped (the series' retention mark, advanced at
 * most once a minute).
 */
export function createDocumentHistory(
  doc: Document,
  options: {
    readonly member?: string;
    readonly windowMs?: number;
    readonly cacheMs?: number;
    readonly flushMs?: number;
    /** Timers for the delayed writes; without one, every `record` writes at once. */
    readonly clock?: Clock;
  } = {},
): AgentHistory {
  const series = doc.timeSeries(options.member ?? 'agent-history');
  const windowMs = options.windowMs ?? 3_600_000;
  const cacheMs = options.cacheMs ?? 1000;
  const flushMs = options.flushMs ?? 1000;
  const cache = new Map<AgentId, { at: number; stats: AgentStats }>();
  const sum = (name: string, from: number, to: number): number =>
    series.range(name, from, to).reduce((t, p) => t + p.value, 0);
  let tallies = new Map<AgentId, Tally>();
  let cancelFlush: (() => void) | null = null;

  const flush = (): void => {
    cancelFlush?.();
    cancelFlush = null;
    if (tallies.size === 0) return;
    const written = tallies;
    tallies = new Map();
    doc.transact(() => {
      let latest = 0;
      for (const [agent, t] of written) {
        series.append(`${agent}/attempts`, t.attempts, t.at);
        if (t.successes > 0) {
          series.append(`${agent}/successes`, t.successes, t.at);
          series.append(`${agent}/latency`, t.latencyMs, t.at);
        }
        latest = Math.max(latest, t.at);
      }
      if (latest - windowMs - series.mark > 60_000) series.retain(latest - windowMs);
    });
  };

  return {
    record(ends) {
      for (const end of ends) {
        if (end.outcome !== 'succeeded' && end.outcome !== 'failed' && end.outcome !== 'timed-out') continue;
        let t = tallies.get(end.agent);
        if (t === undefined) tallies.set(end.agent, (t = { attempts: 0, successes: 0, latencyMs: 0, at: 0 }));
        t.attempts++;
        t.at = Math.max(t.at, Math.round(end.endedAt));
        if (end.outcome === 'succeeded') {
          t.successes++;
          t.latencyMs += end.endedAt - end.startedAt;
        }
      }
      if (tallies.size === 0 || cancelFlush !== null) return;
      if (options.clock === undefined) flush();
      else cancelFlush = options.clock.setTimer(flush, flushMs);
    },
    stats(agent, now) {
      const hit = cache.get(agent);
      if (hit !== undefined && now - hit.at < cacheMs) return hit.stats;
      const from = Math.max(0, now - windowMs);
      const attempts = sum(`${agent}/attempts`, from, now + 1);
      const successes = sum(`${agent}/successes`, from, now + 1);
      const latency = sum(`${agent}/latency`, from, now + 1);
      const stats: AgentStats = {
        successes,
        failures: attempts - successes,
        meanLatencyMs: successes === 0 ? null : latency / successes,
      };
      cache.set(agent, { at: now, stats });
      return stats;
    },
    flush,
  };
}
