import { describe, expect, it } from 'vitest';
import { createDelayEstimator, defaultSettle } from '../src/delay.ts';

function estimator(window = { size: 100, horizonMs: 1000, keep: 10, staleMs: 10_000 }) {
  let t = 0;
  const e = createDelayEstimator(defaultSettle, () => t, window);
  /** Takes `count` samples of `delayMs`. */
  const samples = (count: number, delayMs: number): void => {
    for (let i = 0; i < count; i++) e.sample(delayMs);
  };
  return { e, at: (ms: number) => void (t = ms), samples };
}

describe('delay estimator', () => {
  it('sets the settle window to twice the p99 delay, within its bounds, and the initial window before any sample', () => {
    const { e, samples } = estimator();
    expect(e.p99()).toBeNull();
    expect(e.settleMs()).toBe(defaultSettle.initialMs);
    for (let i = 1; i <= 100; i++) e.sample(i);
    expect(e.p99()).toBe(100);
    expect(e.settleMs()).toBe(200);
    e.sample(-5);
    expect(e.p99()).toBe(100);
    samples(100, 1);
    expect(e.settleMs()).toBe(defaultSettle.minMs);
    samples(100, 10_000);
    expect(e.settleMs()).toBe(defaultSettle.maxMs);
  });

  it('keeps only the newest samples', () => {
    const { e, samples } = estimator();
    samples(100, 300);
    samples(100, 20);
    expect(e.p99()).toBe(20);
  });

  it('stops counting delays of a busy spell once enough fresh samples follow a quiet one', () => {
    const { e, at, samples } = estimator();
    samples(50, 300);
    at(5000);
    // Fewer fresh samples than `keep`: the busy spell's delays still count.
    samples(9, 20);
    expect(e.p99()).toBe(300);
    e.sample(20);
    expect(e.p99()).toBe(20);
    // Samples within the horizon all count, however many newer ones exist.
    at(5500);
    samples(20, 40);
    expect(e.p99()).toBe(40);
    at(6001);
    expect(e.p99()).toBe(40);
    // A lull shorter than `staleMs` keeps the newest `keep` samples: the window does not shrink on a pause.
    at(15_000);
    expect(e.p99()).toBe(40);
    expect(e.settleMs()).toBe(80);
  });

  it('forgets a busy spell once the mesh has been quiet for staleMs, and measures afresh', () => {
    const { e, at, samples } = estimator();
    samples(50, 900);
    at(10_000);
    expect(e.p99()).toBe(900);
    // Past `staleMs` with no sample: the delay is unknown, as before the first one.
    at(10_001);
    expect(e.p99()).toBeNull();
    expect(e.settleMs()).toBe(defaultSettle.initialMs);
    // The first fresh sample is all that counts.
    e.sample(30);
    expect(e.p99()).toBe(30);
    // Fresh samples fewer than `keep` count alone: the stale spell does not come back.
    at(10_500);
    samples(3, 15);
    expect(e.p99()).toBe(30);
    at(20_001);
    expect(e.p99()).toBe(30);
    at(20_002);
    expect(e.p99()).toBe(15);
    at(20_501);
    expect(e.p99()).toBeNull();
  });

  it('ages out counted samples as time passes, without a new sample', () => {
    const { e, at, samples } = estimator();
    samples(20, 300);
    at(900);
    samples(20, 30);
    expect(e.p99()).toBe(300);
    at(1500);
    expect(e.p99()).toBe(30);
  });
});
