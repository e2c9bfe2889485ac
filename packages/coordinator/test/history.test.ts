import { createDocument } from '@meshwork/core';
import { describe, expect, it } from 'vitest';
import { CoordinatorError, createDocumentHistory, type AttemptEnd, type Clock } from '../src/index.ts';

const end = (
  agent: string,
  endedAt: number,
  outcome: AttemptEnd['outcome'] = 'succeeded',
  ranMs = 10,
): AttemptEnd => ({
  task: `t-${endedAt}`,
  epoch: 1,
  agent,
  node: 'n1',
  startedAt: endedAt - ranMs,
  endedAt,
  outcome,
  result: null,
  error: null,
  retryable: true,
});

/** A clock whose timers run when `advance` passes them. */
function manualClock(): Clock & { advance(ms: number): void } {
  let now = 1000;
  const timers: { at: number; fn: () => void }[] = [];
  return {
    now: () => now,
    setTimer(fn, ms) {
      const t = { at: now + ms, fn };
      timers.push(t);
      return () => void timers.splice(timers.indexOf(t), 1);
    },
    advance(ms) {
      now += ms;
      for (const t of timers.filter((x) => x.at <= now)) {
        timers.splice(timers.indexOf(t), 1);
        t.fn();
      }
    },
  };
}

describe('createDocumentHistory', () => {
  it('writes the attempts of each flushMs as one point per agent and series, so points follow time, not load', () => {
    const doc = createDocument({ replica: 'n1', name: 'h' });
    const clock = manualClock();
    const history = createDocumentHistory(doc, { clock, flushMs: 1000, cacheMs: 0 });
    const events: number[] = [];
    doc.on('change', () => events.push(1));
    for (let i = 0; i < 50; i++) history.record([end('a', 1000 + i), end('b', 1000 + i, 'failed')]);
    expect(events).toHaveLength(0);
    clock.advance(1000);
    expect(events).toHaveLength(1);
    const series = doc.timeSeries('agent-history');
    expect(series.range('a/attempts', 0, 5000).map((p) => p.value)).toEqual([50]);
    expect(series.range('b/attempts', 0, 5000).map((p) => p.value)).toEqual([50]);
    const healthy = { degraded: false, reason: null };
    expect(history.stats('a', 3000)).toEqual({
      successes: 50,
      failures: 0,
      meanLatencyMs: 10,
      health: healthy,
    });
    expect(history.stats('b', 3000)).toEqual({
      successes: 0,
      failures: 50,
      meanLatencyMs: null,
      health: healthy,
    });
  });

  it('flush() writes what is pending at once; without a clock every record writes at once', () => {
    const doc = createDocument({ replica: 'n1', name: 'h' });
    const history = createDocumentHistory(doc, { clock: manualClock(), cacheMs: 0 });
    history.record([end('a', 1000)]);
    expect(history.stats('a', 2000).successes).toBe(0);
    history.flush();
    expect(history.stats('a', 2000).successes).toBe(1);

    const direct = createDocumentHistory(createDocument({ replica: 'n2', name: 'h' }), { cacheMs: 0 });
    direct.record([end('a', 1000)]);
    expect(direct.stats('a', 2000).successes).toBe(1);
  });

  it('judges health from the flushed points, the same on a replica that merged them', () => {
    const doc = createDocument({ replica: 'n1', name: 'h' });
    const clock = manualClock();
    const history = createDocumentHistory(doc, { clock, flushMs: 1000, cacheMs: 0 });
    // Two attempts a second each: 'steady' stays at about 200 ms; 'slowing' too for 75 seconds,
    // then runs 2 s from the 76th second on.
    for (let second = 1; second <= 82; second++) {
      const at = clock.now() + 500;
      history.record([
        end('steady', at, 'succeeded', 200),
        end('steady', at + 1, 'succeeded', 200 + second),
        end('slowing', at, 'succeeded', second > 75 ? 2000 : 200),
        end('slowing', at + 1, 'succeeded', second > 75 ? 2000 : 200 + second),
      ]);
      clock.advance(1000);
      const health = history.stats('slowing', clock.now()).health!;
      // The 7th slow point makes 7 of the newest 9 slow.
      expect(health.degraded).toBe(second >= 82);
    }
    expect(history.stats('steady', clock.now()).health).toEqual({ degraded: false, reason: null });
    expect(history.stats('slowing', clock.now()).health).toEqual({
      degraded: true,
      reason: 'latency 2.0 s in 7 of the newest 9 vs baseline 211 ms (MAD 3 %)',
    });

    const replica = createDocument({ replica: 'n2', name: 'h' });
    for (const chunk of doc.snapshot()) replica.apply(chunk);
    const merged = createDocumentHistory(replica, { cacheMs: 0 });
    expect(merged.stats('slowing', clock.now())).toEqual(history.stats('slowing', clock.now()));
    // Five minutes without a new point: the verdict lapses and the agent is tried again.
    expect(merged.stats('slowing', clock.now() + 5 * 60_000 + 1000).health?.degraded).toBe(false);
  });

  it('takes other health windows, and refuses bad ones naming the field', () => {
    const doc = createDocument({ replica: 'n1', name: 'h' });
    const refused = (health: object): unknown => {
      try {
        createDocumentHistory(doc, { health });
      } catch (err) {
        return err;
      }
      return undefined;
    };
    for (const [health, field] of [
      [{ recent: 0 }, 'health.recent'],
      [{ baseline: 2.5 }, 'health.baseline'],
      [{ deviations: -1 }, 'health.deviations'],
      [{ alpha: 1 }, 'health.alpha'],
      [{ minRise: Number.NaN }, 'health.minRise'],
      [{ recent: 5, latencyWindow: 9 }, 'health.latencyWindow'],
      [{ latencyWindow: 5, latencySlow: 6 }, 'health.latencySlow'],
    ] as const) {
      const err = refused(health);
      expect(err).toBeInstanceOf(CoordinatorError);
      expect((err as CoordinatorError).field).toBe(field);
    }

    const clock = manualClock();
    const history = createDocumentHistory(doc, {
      clock,
      cacheMs: 0,
      health: { recent: 4, latencyWindow: 3, latencySlow: 2, minBaseline: 5 },
    });
    for (let second = 1; second <= 12; second++) {
      history.record([end('a', clock.now() + 500, 'succeeded', second > 9 ? 5_000 : 100)]);
      clock.advance(1000);
    }
    expect(history.stats('a', clock.now()).health).toEqual({
      degraded: true,
      reason: 'latency 5.0 s in 2 of the newest 3 vs baseline 100 ms (MAD 0 %)',
    });
  });
});
