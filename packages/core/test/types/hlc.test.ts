import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ClockDriftError,
  compareTimestamps,
  createDocument,
  DecodeError,
  HLC,
  MAX_LOGICAL,
} from '../../src/index.ts';

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

  it('never reads a logical counter past MAX_LOGICAL: it carries into the next millisecond', () => {
    const t = 1000;
    const hlc = new HLC('a', { clock: () => t });
    const got = hlc.receive({ wall: t, logical: MAX_LOGICAL, replica: 'b' });
    expect(got).toMatchObject({ wall: t + 1, logical: 0 });
    const next = hlc.now();
    expect(compareTimestamps(next, got)).toBe(1);
    expect(next.logical).toBeLessThanOrEqual(MAX_LOGICAL);
  });

  it('refuses an event whose logical counter is past MAX_LOGICAL, so no accepted clock becomes unwritable', () => {
    const now = 1_700_000_000_000;
    const b = createDocument({ name: 'd', replica: 'b', clock: () => now });
    const before = b.digest();
    // Replica "a", event 1 at wall `now` with logical 2^53 - 1, setting `x` to 1: a peer's update
    // found by the fuzzer. Accepted, it moved b's clock past what a snapshot can carry.
    const hostile = Buffer.from(
      '0201010001610180d095ffbc31ffffffffffffff0f010178010180d095ffbc310000030100',
      'hex',
    );
    expect(() => b.apply(hostile)).toThrow(DecodeError);
    expect(b.digest().equals(before)).toBe(true);
    b.lww('x').set(2);
    const c = createDocument({ name: 'd', replica: 'c', clock: () => now });
    for (const chunk of b.snapshot()) c.apply(chunk);
    expect(c.lww('x').get()).toBe(2);
  });
});
