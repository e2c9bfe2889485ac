import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ClockDriftError, compareTimestamps, HLC } from '../../src/index.ts';

describe('HLC', () => {
  it('readings strictly increase even when physical time stalls or goes back', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -5, max: 5 }), { maxLength: 50 }), (steps) => {
        let t = 1000;
        const hlc = new HLC('a', { clock: () => t });
        let last = hlc.now();
        for (const step of steps) {
          t += step;
          const next = hlc.now();
          expect(compareTimestamps(next, last)).toBe(1);
          expect(next.wall).toBeGreaterThanOrEqual(t);
          last = next;
        }
      }),
    );
  });

  it('receive moves past the remote timestamp', () => {
    let t = 1000;
    const a = new HLC('a', { clock: () => t });
    const b = new HLC('b', { clock: () => t - 50 });
    const sent = a.now();
    const got = b.receive(sent);
    expect(compareTimestamps(got, sent)).toBe(1);
    expect(compareTimestamps(b.now(), sent)).toBe(1);
    t += 1;
    expect(b.now().wall).toBe(1000);
  });

  it('refuses a remote timestamp too far ahead, leaving the clock unchanged', () => {
    const hlc = new HLC('a', { clock: () => 1000, maxDriftMs: 100 });
    const before = hlc.now();
    expect(() => hlc.receive({ wall: 1101, logical: 0, replica: 'b' })).toThrow(ClockDriftError);
    expect(hlc.peek()).toEqual(before);
    expect(
      compareTimestamps(hlc.receive({ wall: 1100, logical: 3, replica: 'b' }), {
        wall: 1100,
        logical: 3,
        replica: 'b',
      }),
    ).toBe(1);
  });

  it('breaks ties by replica id', () => {
    expect(
      compareTimestamps({ wall: 1, logical: 0, replica: 'a' }, { wall: 1, logical: 0, replica: 'b' }),
    ).toBe(-1);
    expect(
      compareTimestamps({ wall: 1, logical: 1, replica: 'a' }, { wall: 1, logical: 0, replica: 'b' }),
    ).toBe(1);
    expect(
      compareTimestamps({ wall: 1, logical: 0, replica: 'a' }, { wall: 1, logical: 0, replica: 'a' }),
    ).toBe(0);
  });
});
