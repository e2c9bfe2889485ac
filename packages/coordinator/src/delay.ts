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

export function createDelayEstimator(options: SettleOptions, windowSize = 512): DelayEstimator {
  const samples: number[] = [];
  let next = 0;
  let cached: number | null = null;
  return {
    sample(delayMs) {
      const d = Math.max(0, delayMs);
      if (samples.length < windowSize) samples.push(d);
      else {
        samples[next] = d;
        next = (next + 1) % windowSize;
      }
      cached = null;
    },
    p99() {
      if (samples.length === 0) return null;
      if (cached === null) {
        const sorted = [...samples].sort((a, b) => a - b);
        cached = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]!;
      }
      return cached;
    },
    settleMs() {
      const p = this.p99();
      const raw = p === null ? options.initialMs : options.multiplier * p;
      return Math.round(Math.min(options.maxMs, Math.max(options.minMs, raw)));
    },
  };
}
