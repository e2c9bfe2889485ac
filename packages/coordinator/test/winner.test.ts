import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { candidates, decisionTime, selectWinner } from '../src/winner.ts';
import type { Claim } from '../src/index.ts';
import { claim } from './fixtures.ts';

const arbClaims = fc
  .uniqueArray(
    fc.record({
      agent: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g'),
      at: fc.integer({ min: 0, max: 300 }),
      score: fc.constantFrom(0.1, 0.5, 0.5, 0.9),
      settleMs: fc.integer({ min: 1, max: 100 }),
    }),
    { selector: (c) => c.agent, minLength: 1, maxLength: 7 },
  )
  .map((cs) => cs.map((c): Claim => claim(c)));

describe('selectWinner', () => {
  it('a claim made at once beats every claim that stepped in, whatever their times and scores', () => {
    fc.assert(
      fc.property(arbClaims, fc.func(fc.boolean()), (claims, steps) => {
        const marked = claims.map((c) => (steps(c.agent) ? { ...c, stepIn: true } : c));
        const atOnce = marked.filter((c) => c.stepIn !== true);
        const w = selectWinner(marked)!;
        if (atOnce.length > 0) {
          expect(w.stepIn).toBeUndefined();
          expect(w).toEqual(selectWinner(atOnce));
          expect(decisionTime(marked)).toBe(decisionTime(atOnce));
        } else expect(w.agent).toBe(selectWinner(claims)!.agent);
      }),
    );
  });

  it('every replica picks the same winner whatever order the claims arrived in', () => {
    fc.assert(
      fc.property(arbClaims, fc.func(fc.integer()), (claims, order) => {
        const shuffled = [...claims].sort((x, y) => order(x.agent) - order(y.agent));
        expect(selectWinner(shuffled)).toEqual(selectWinner(claims));
        expect(selectWinner([...claims].reverse())).toEqual(selectWinner(claims));
      }),
    );
  });

  it('the winner is a candidate with the highest score', () => {
    fc.assert(
      fc.property(arbClaims, (claims) => {
        const w = selectWinner(claims)!;
        const inWindow = candidates(claims);
        expect(inWindow).toContainEqual(w);
        for (const c of inWindow) expect(c.score).toBeLessThanOrEqual(w.score);
      }),
    );
  });

  it('a claim made after the settle window never changes the decision', () => {
    fc.assert(
      fc.property(arbClaims, fc.integer({ min: 1, max: 1000 }), (claims, late) => {
        const before = selectWinner(claims)!;
        const first = [...claims].sort((a, b) => a.at - b.at || (a.agent < b.agent ? -1 : 1))[0]!;
        const intruder = claim({ agent: 'zz-late', at: first.at + first.settleMs + late, score: 1 });
        expect(selectWinner([...claims, intruder])).toEqual(before);
      }),
    );
  });

  it('candidates are the claims of the first eighth of a window; the decision comes a window and an eighth later', () => {
    const first = claim({ agent: 'a', at: 100, settleMs: 80, score: 0.1 });
    const inside = claim({ agent: 'b', at: 110, score: 0.9 });
    const outside = claim({ agent: 'c', at: 111, score: 0.9 });
    expect(selectWinner([first, inside])!.agent).toBe('b');
    expect(selectWinner([first, outside])!.agent).toBe('a');
    expect(decisionTime([outside, inside, first])).toBe(200);
  });

  it('breaks score ties by rendezvous hash, spreading tasks over agents', () => {
    const wins = new Map<string, number>();
    for (let i = 0; i < 300; i++) {
      const claims = ['a', 'b', 'c'].map((agent) => claim({ task: `t${i}`, agent, at: 0 }));
      const w = selectWinner(claims)!.agent;
      wins.set(w, (wins.get(w) ?? 0) + 1);
    }
    for (const agent of ['a', 'b', 'c']) expect(wins.get(agent)).toBeGreaterThan(60);
  });

  it('no claims, no winner', () => {
    expect(selectWinner([])).toBeNull();
  });
});
