import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createPhiDetector } from '../../src/internal.ts';

describe('phi-accrual failure detector', () => {
  it('keeps a peer with regular heartbeats alive and suspects it about a second after they stop', () => {
    const phi = createPhiDetector();
    for (let t = 0; t <= 5000; t += 250) phi.heartbeat('p', t);
    expect(phi.isAlive('p', 5200)).toBe(true);
    expect(phi.isAlive('p', 5600)).toBe(true);
    expect(phi.isAlive('p', 7500)).toBe(false);
    let t = 5000;
    while (phi.isAlive('p', t)) t += 10;
    expect(t - 5000).toBeGreaterThan(500);
    expect(t - 5000).toBeLessThan(2000);
  });

  it('phi grows with silence; unknown and forgotten peers are not alive', () => {
    const phi = createPhiDetector();
    expect(phi.isAlive('q', 0)).toBe(false);
    for (let t = 0; t <= 2000; t += 200) phi.heartbeat('q', t);
    fc.assert(
      fc.property(fc.nat(5000), fc.nat(5000), (a, b) => {
        const [lo, hi] = a < b ? [a, b] : [b, a];
        expect(phi.phi('q', 2000 + hi)).toBeGreaterThanOrEqual(phi.phi('q', 2000 + lo));
      }),
    );
    phi.forget('q');
    expect(phi.isAlive('q', 2000)).toBe(false);
  });

  it('tolerates jittery heartbeats once it has learned their spread', () => {
    const phi = createPhiDetector();
    let t = 0;
    for (let i = 0; i < 100; i++) phi.heartbeat('j', (t += i % 2 === 0 ? 100 : 700));
    expect(phi.isAlive('j', t + 900)).toBe(true);
  });

  it('measures silence from anything heard, and its rhythm from heartbeats alone', () => {
    const beatsOnly = createPhiDetector();
    const withOthers = createPhiDetector();
    for (let t = 0; t <= 20_000; t += 1000) {
      beatsOnly.heartbeat('p', t);
      withOthers.heartbeat('p', t);
      // Records between heartbeats, as after a link comes up: no samples.
      if (t < 20_000) withOthers.heard('p', t + 10);
    }
    for (const at of [21_000, 22_000, 22_500, 23_000])
      expect(withOthers.phi('p', at)).toBe(beatsOnly.phi('p', at));
    // Heard after the last heartbeat: silence counts from then.
    withOthers.heard('p', 21_500);
    expect(beatsOnly.isAlive('p', 23_200)).toBe(false);
    expect(withOthers.isAlive('p', 23_200)).toBe(true);
  });

  it("takes no sample of a link's first interval, which is the sender's phase", () => {
    const phased = createPhiDetector();
    const regular = createPhiDetector();
    phased.heartbeat('p', 0);
    for (let t = 7; t <= 20_007; t += 1000) phased.heartbeat('p', t);
    for (let t = 7; t <= 20_007; t += 1000) regular.heartbeat('p', t);
    for (const at of [21_000, 22_000, 23_000]) expect(phased.phi('p', at)).toBe(regular.phi('p', at));
  });
});
