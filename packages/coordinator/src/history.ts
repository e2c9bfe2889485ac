import type { Document, Point } from '@meshwork/core';
import type { AgentId, AttemptEnd } from './model.ts';
import type { Clock } from './clock.ts';
import { assessHealth, parseHealth, type HealthOptions, type HealthSample } from './health.ts';
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

/** Sums of one agent's points by wall time: what one flush wrote for it (two, rarely, at one ms). */
function byWall(points: readonly Point[]): Map<number, number> {
  const sums = new Map<number, number>();
  for (const p of points) sums.set(p.ts.wall, (sums.get(p.ts.wall) ?? 0) + p.value);
  return sums;
}

/** One health sample per flushed point of the agent, oldest first. */
function healthSamples(
  attempts: readonly Point[],
  successes: readonly Point[],
  latency: readonly Point[],
): HealthSample[] {
  const succeeded = byWall(successes);
  const ran = byWall(latency);
  const samples: HealthSample[] = [];
  for (const [at, n] of byWall(attempts)) {
    const ok = succeeded.get(at) ?? 0;
    samples.push({ at, attempts: n, failures: n - ok, latencyMs: ok === 0 ? null : (ran.get(at) ?? 0) / ok });
  }
  return samples;
}

/**
 * Agent history in a TimeSeries member. Ended attempts are tallied per agent and written at
 * most once per `flushMs`: per agent, one point for the attempts that counted (succeeded,
 * failed or timed out), one for the successes and one for their summed run time. So the
 * series grows with time, not with load: scoring sums at most a few thousand points per agent
 * over its hour, however many passes wrote ends. Scoring reads sums over `windowMs`, cached for
 * `cacheMs`, so every replica ranks agents by the same mesh-wide history, at most `flushMs`
 * behind. Points older than the window are dropped (the series' retention mark, advanced at
 * most once a minute). Each agent's health (see health.ts) is judged from the same points, one
 * sample per point, so it too is the same on every replica that holds the same history.
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
    /** Windows and thresholds of the health verdict; see the README's "Agent health". */
    readonly health?: Partial<HealthOptions>;
  } = {},
): AgentHistory {
  const series = doc.timeSeries(options.member ?? 'agent-history');
  const windowMs = options.windowMs ?? 3_600_000;
  const cacheMs = options.cacheMs ?? 1000;
  const flushMs = options.flushMs ?? 1000;
  const health: HealthOptions = parseHealth(options.health);
  const cache = new Map<AgentId, { at: number; stats: AgentStats }>();
  const sum = (points: readonly Point[]): number => points.reduce((t, p) => t + p.value, 0);
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
      const attempts = series.range(`${agent}/attempts`, from, now + 1);
      const successes = series.range(`${agent}/successes`, from, now + 1);
      const latency = series.range(`${agent}/latency`, from, now + 1);
      const succeeded = sum(successes);
      const stats: AgentStats = {
        successes: succeeded,
        failures: sum(attempts) - succeeded,
        meanLatencyMs: succeeded === 0 ? null : sum(latency) / succeeded,
        health: assessHealth(healthSamples(attempts, successes, latency), now, health),
      };
      cache.set(agent, { at: now, stats });
      return stats;
    },
    flush,
  };
}
