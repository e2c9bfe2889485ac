import { describe, expect, it } from 'vitest';
import { createDocument, DecodeError, InvalidArgumentError, type Document } from '../../src/index.ts';
import { fingerprint } from './fingerprint.ts';

const HOUR = 3_600_000;
const MINUTE = 60_000;

/** Replicas on virtual time; `skew` runs one clock ahead of the others. */
function replica(name: string, now: { t: number }, skew = 0): Document {
  return createDocument({ replica: name, name: 'metrics', clock: () => now.t + skew });
}

describe('TimeSeries retention marks and the HLC drift cap', () => {
  it('a replica whose clock runs an hour fast cannot delete the last hour elsewhere', () => {
    const now = { t: 10 * HOUR };
    const fast = replica('fast', now, HOUR);
    const honest = replica('honest', now);
    const updates: Uint8Array[] = [];
    fast.on('change', (e) => updates.push(e.update));
    for (let i = 0; i < 60; i++) honest.timeSeries('cpu').append('load', i, now.t - i * MINUTE);
    // "Keep the last minute", by the fast replica's clock.
    fast.timeSeries('cpu').retain(now.t + HOUR - MINUTE);
    const check = fingerprint(honest);
    const error = (() => {
      try {
        honest.apply(updates[0] as Uint8Array);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(DecodeError);
    expect((error as DecodeError).code).toBe('clock');
    check();
    expect(honest.timeSeries('cpu').range('load', 0, Infinity)).toHaveLength(60);
    // Once local time has caught up, the same event merges (anti-entropy sends it again).
    now.t += HOUR - MINUTE;
    expect(honest.apply(updates[0] as Uint8Array).events).toBe(1);
    expect(honest.timeSeries('cpu').mark).toBe(now.t);
  });

  it('refuses a mark years ahead, in events and in snapshots', () => {
    const now = { t: 10 * HOUR };
    const writer = replica('w', now, 10 * 365 * 24 * HOUR);
    const victim = replica('v', now);
    victim.timeSeries('cpu').append('load', 1, now.t);
    writer.timeSeries('cpu').retain(now.t + 10 * 365 * 24 * HOUR);
    const check = fingerprint(victim);
    for (const chunk of writer.snapshot()) expect(() => victim.apply(chunk)).toThrow(/^clock/);
    check();
  });

  it('refuses locally a mark ahead of the HLC, changing nothing', () => {
    const now = { t: 10 * HOUR };
    const doc = replica('a', now);
    const ts = doc.timeSeries('cpu');
    ts.append('load', 1, now.t);
    const check = fingerprint(doc);
    expect(() => ts.retain(now.t + MINUTE)).toThrow(InvalidArgumentError);
    check();
    ts.retain(now.t - MINUTE);
    expect(ts.mark).toBe(now.t - MINUTE);
  });
});
