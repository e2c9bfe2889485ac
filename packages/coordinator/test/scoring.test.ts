import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { covers, effectivePriority, ineligibility, rankAgents, scoreAgent } from '../src/internal.ts';
import { agent, spec } from './fixtures.ts';

const ok = { alive: true, load: 0, dependenciesSucceeded: true, resourcesAvailable: true };

describe('eligibility', () => {
  it('names the first reason an agent cannot take a task', () => {
    const t = spec({ needs: ['gpu', 'work'] });
    const a = agent({ capabilities: ['gpu', 'work'], capacity: 1 });
    expect(ineligibility(t, a, ok)).toBeNull();
    expect(ineligibility(t, { ...a, retired: true }, ok)).toBe('retired');
    expect(ineligibility(t, a, { ...ok, alive: false })).toBe('not-alive');
    expect(ineligibility(t, agent({ capabilities: ['work'] }), ok)).toBe('missing-capability');
    expect(ineligibility(t, a, { ...ok, dependenciesSucceeded: false })).toBe('dependencies');
    expect(ineligibility(t, a, { ...ok, load: 1 })).toBe('at-capacity');
    expect(ineligibility(t, a, { ...ok, resourcesAvailable: false })).toBe('resources');
  });

  it('capabilities cover needs exactly when every need is among them', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.constantFrom('a', 'b', 'c', 'd')),
        fc.uniqueArray(fc.constantFrom('a', 'b', 'c', 'd')),
        (caps, needs) => {
          expect(covers(caps, needs)).toBe(needs.every((n) => caps.includes(n)));
        },
      ),
    );
  });
});

describe('scoring', () => {
  it('prefers less loaded, more successful, more specialised, faster agents', () => {
    const t = spec();
    const base = agent({ capacity: 4 });
    const none = { successes: 0, failures: 0, meanLatencyMs: null };
    expect(scoreAgent(t, base, 0, none)).toBeGreaterThan(scoreAgent(t, base, 3, none));
    expect(scoreAgent(t, base, 0, { ...none, successes: 9 })).toBeGreaterThan(
      scoreAgent(t, base, 0, { ...none, failures: 9 }),
    );
    expect(scoreAgent(t, base, 0, none)).toBeGreaterThan(
      scoreAgent(t, agent({ capabilities: ['work', 'x', 'y', 'z'] }), 0, none),
    );
    expect(scoreAgent(t, base, 0, { ...none, meanLatencyMs: 10 })).toBeGreaterThan(
      scoreAgent(t, base, 0, { ...none, meanLatencyMs: 5000 }),
    );
  });

  it('score lies in [0, 1] and never rises with load', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.nat(60),
        fc.nat(60),
        fc.nat(100),
        fc.nat(100),
        (capacity, l1, l2, s, f) => {
          const a = agent({ capacity });
          const stats = { successes: s, failures: f, meanLatencyMs: null };
          const lo = Math.min(l1, l2);
          const hi = Math.max(l1, l2);
          const x = scoreAgent(spec(), a, lo, stats);
          expect(x).toBeGreaterThanOrEqual(scoreAgent(spec(), a, hi, stats));
          expect(x).toBeGreaterThanOrEqual(0);
          expect(x).toBeLessThanOrEqual(1);
        },
      ),
    );
  });

  it('ranks a degraded agent below an otherwise equal healthy one', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.nat(49),
        fc.nat(100),
        fc.nat(100),
        fc.option(fc.integer({ min: 0, max: 600_000 }), { nil: null }),
        (capacity, used, s, f, meanLatencyMs) => {
          const load = Math.min(used, capacity - 1);
          const base = { successes: s, failures: f, meanLatencyMs };
          const healthy = { ...base, health: { degraded: false, reason: null } };
          const degraded = {
            ...base,
            health: {
              degraded: true,
              reason: 'latency 4.1 s in 7 of the newest 9 vs baseline 900 ms (MAD 5 %)',
            },
          };
          const t = spec();
          const sick = scoreAgent(t, agent({ id: 'sick', capacity }), load, degraded);
          const well = scoreAgent(t, agent({ id: 'well', capacity }), load, healthy);
          expect(sick).toBeLessThan(well);
          // Absent health is healthy.
          expect(scoreAgent(t, agent({ id: 'well', capacity }), load, base)).toBe(well);
          const ranked = rankAgents(t, [
            { agent: agent({ id: 'sick', capacity }), score: sick },
            { agent: agent({ id: 'well', capacity }), score: well },
          ]);
          expect(ranked.map((r) => r.agent.id)).toEqual(['well', 'sick']);
        },
      ),
    );
  });

  it('ranking is the same whatever order the agents are listed in', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(
          fc.record({ id: fc.string({ minLength: 1, maxLength: 4 }), score: fc.constantFrom(0.2, 0.5, 0.8) }),
          { selector: (a) => a.id },
        ),
        (xs) => {
          const scored = xs.map((x) => ({ agent: agent({ id: x.id }), score: x.score }));
          const ids = (r: typeof scored) => rankAgents(spec(), r).map((x) => x.agent.id);
          expect(ids([...scored].reverse())).toEqual(ids(scored));
        },
      ),
    );
  });

  it('aging raises effective priority so old low-priority tasks overtake new high-priority ones', () => {
    const old = spec({ priority: 0, submittedAt: 0 });
    const fresh = spec({ priority: 2, submittedAt: 290_000 });
    expect(effectivePriority(old, 300_000, 60_000)).toBeGreaterThan(
      effectivePriority(fresh, 300_000, 60_000),
    );
    expect(effectivePriority(old, 1000, 60_000)).toBeLessThan(effectivePriority(fresh, 291_000, 60_000));
  });
});
