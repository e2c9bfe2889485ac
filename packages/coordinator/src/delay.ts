/**
 * Measures how long records take to arrive from other replicas (receive time minus the
 * writer's timestamp, so clock skew is included) and derives the settle window from it.
 */
export interface SettleOptions {
  /** Floor of the window, ms. */
  readonly minMs: number;
  /** Ceiling of the window, ms. */
  readonly maxMs: number;
  /** Window = multiplier × p99 delivery delay. */
  readonly multiplier: number;
  /** Window used before any delay has been measured. */
  readonly initialMs: number;
}

export const defaultSettle: SettleOptions = { minMs: 10, maxMs: 2000, multiplier: 2, initialMs: 100 };

export interface DelayEstimator {
  sample(delayMs: number): void;
  p99(): number | null;
  settleMs(): number;
}

/** Which samples the p99 is taken over. */
export interface SampleWindow {
  /** At most this many, the newest. */
  readonly size: number;
  /** Samples older than this no longer count once `keep` newer ones exist, ms. */
  readonly horizonMs: number;
  /** The newest this many count up to `staleMs` old, so a lull between records keeps the last known delay. */
  readonly keep: number;
  /** No sample older than this counts: with nothing newer, the delay is unknown again. */
  readonly staleMs: number;
}

export const defaultSampleWindow: SampleWindow = { size: 512, horizonMs: 2000, keep: 32, staleMs: 10_000 };

/**
 * p99 over the newest samples. Under load the count bounds the window; when records slow
 * down, the age bound lets delays measured in a busy spell stop counting once fresher ones
 * exist, instead of keeping the window wide until hundreds of new samples have arrived. A mesh
 * with nothing in flight sends no records to measure: the delay of its last busy spell says
 * nothing of now, so after `staleMs` it stops counting and the next claims start from the
 * initial window (their receipts, not the window, keep them safe).
 */
export function createDelayEstimator(
  options: SettleOptions,
  now: () => number,
  window: SampleWindow = defaultSampleWindow,
): DelayEstimator {
  const delays: number[] = [];
  const times: number[] = [];
  let next = 0;
  let cached: number | null = null;
  /** The cached p99 holds until a new sample, or until its oldest counted sample ages out. */
  let cachedUntil = -Infinity;
  return {
    sample(delayMs) {
      delays[next] = Math.max(0, delayMs);
      times[next] = now();
      next = (next + 1) % window.size;
      cachedUntil = -Infinity;
    },
    p99() {
      const t = now();
      if (t < cachedUntil) return cached;
      const counted: number[] = [];
      let oldest = t;
      for (let i = 1; i <= delays.length; i++) {
        const j = (next - i + window.size) % window.size;
        const age = t - times[j]!;
        if (age > window.staleMs || (counted.length >= window.keep && age > window.horizonMs)) break;
        counted.push(delays[j]!);
        oldest = times[j]!;
      }
      counted.sort((a, b) => a - b);
      cached = counted.length === 0 ? null : counted[Math.floor(counted.length * 0.99)]!;
      cachedUntil =
        counted.length === 0
          ? Infinity
          : oldest + (counted.length > window.keep ? window.horizonMs : window.staleMs);
      return cached;
    },
    settleMs() {
      const p = this.p99();
      const raw = p === null ? options.initialMs : options.multiplier * p;
      return Math.round(Math.min(options.maxMs, Math.max(options.minMs, raw)));
    },
  };
}
