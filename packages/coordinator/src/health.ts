import { invalid } from './errors.ts';

/**
 * One point of an agent's history: the attempts it ended within one flush of the history (the
 * unit the detection bounds count in).
 */
export interface HealthSample {
  /** Wall time of the point, ms. */
  readonly at: number;
  readonly attempts: number;
  readonly failures: number;
  /** Mean run time of the point's successful attempts, ms; null when none succeeded. */
  readonly latencyMs: number | null;
}

/** Whether an agent's recent behaviour is far from its own baseline, and why. */
export interface AgentHealth {
  readonly degraded: boolean;
  /** e.g. `latency 4.1 s in 7 of the newest 9 vs baseline 900 ms (MAD 8 %)`; null when not degraded. */
  readonly reason: string | null;
}

export interface HealthOptions {
  /**
   * The newest samples, kept out of the baseline: a change is judged within them, and a slow
   * drift in them cannot widen the baseline it is measured against.
   */
  readonly recent: number;
  /** Newest latency samples looked at for a slowdown… */
  readonly latencyWindow: number;
  /**
   * …of which this many must be slow: the level compared with the baseline is the lowest of the
   * slowest `latencySlow`. The default, 7 of 9, is well over half, so that a cluster of outliers
   * in noise with a narrow core and a heavy tail (Cauchy-like) is not taken for a slowdown.
   */
  readonly latencySlow: number;
  /** Most samples, before the recent ones, that form the baseline. */
  readonly baseline: number;
  /** Fewest baseline samples for a verdict; with fewer the agent is healthy. */
  readonly minBaseline: number;
  /** Recent median log-latency must exceed the baseline median by this many robust deviations… */
  readonly deviations: number;
  /** …and the recent median latency be at least this multiple of the baseline median. */
  readonly minRatio: number;
  /** Latencies below this count as this (slowdowns below it are not worth a flag). */
  readonly floorMs: number;
  /** Recent failures must be this improbable at the baseline rate (Chernoff bound)… */
  readonly alpha: number;
  /** The baseline failure rate is taken as its upper confidence bound at this level. */
  readonly baselineConfidence: number;
  /** …and the recent failure rate exceed the baseline rate by at least this much. */
  readonly minRise: number;
  /** A verdict lapses once the newest sample is older than this, so the agent is tried again. */
  readonly staleMs: number;
}

export const defaultHealth: HealthOptions = Object.freeze({
  recent: 40,
  latencyWindow: 9,
  latencySlow: 7,
  baseline: 240,
  minBaseline: 30,
  deviations: 6,
  minRatio: 2,
  floorMs: 10,
  alpha: 1e-6,
  baselineConfidence: 0.75,
  minRise: 0.1,
  staleMs: 5 * 60_000,
});

const healthy: AgentHealth = Object.freeze({ degraded: false, reason: null });

/** `defaultHealth` with `options` over it; throws CoordinatorError naming a bad field. */
export function parseHealth(options: Partial<HealthOptions> | undefined): HealthOptions {
  const o = { ...defaultHealth, ...options };
  const counts = ['recent', 'latencyWindow', 'latencySlow', 'baseline', 'minBaseline'] as const;
  for (const key of counts)
    if (!Number.isSafeInteger(o[key]) || o[key] < 1)
      throw invalid(`health.${key}`, 'must be an integer >= 1');
  const positive = ['deviations', 'minRatio', 'floorMs', 'staleMs'] as const;
  for (const key of positive)
    if (!Number.isFinite(o[key]) || o[key] <= 0) throw invalid(`health.${key}`, 'must be a number > 0');
  if (!(o.alpha > 0 && o.alpha < 1)) throw invalid('health.alpha', 'must be a probability in (0, 1)');
  if (!(o.baselineConfidence > 0 && o.baselineConfidence < 1))
    throw invalid('health.baselineConfidence', 'must be a probability in (0, 1)');
  if (!(o.minRise >= 0 && o.minRise < 1)) throw invalid('health.minRise', 'must be a number in [0, 1)');
  if (o.latencyWindow > o.recent)
    throw invalid('health.latencyWindow', 'must be at most health.recent (it is of recent samples)');
  if (o.latencySlow > o.latencyWindow)
    throw invalid('health.latencySlow', 'must be at most health.latencyWindow');
  return o;
}

/** Scales the median absolute deviation to the standard deviation of normal data. */
const MAD_TO_SIGMA = 1.4826;

function median(sorted: readonly number[]): number {
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const ascending = (a: number, b: number): number => a - b;

function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

const percent = (rate: number): string => `${Math.round(rate * 100)} %`;

/** Relative entropy of Bernoulli(a) from Bernoulli(p), for 0 < p < 1. */
function divergence(a: number, p: number): number {
  const term = (x: number, y: number): number => (x === 0 ? 0 : x * Math.log(x / y));
  return term(a, p) + term(1 - a, 1 - p);
}

/**
 * Latency: the level that `latencySlow` of the newest `latencyWindow` samples reach, against the
 * median and MAD of the `baseline` before the newest `recent`, in log space, where a latency's
 * spread is relative and heavy right tails (Pareto, log-normal) become light.
 */
function latencyVerdict(latencies: readonly number[], o: HealthOptions): string | null {
  const n = latencies.length;
  if (n < o.minBaseline + o.recent) return null;
  const logs = latencies.map((ms) => Math.log(Math.max(ms, o.floorMs)));
  /** The lowest of the slowest `latencySlow` of a sorted window. */
  const level = (sorted: readonly number[]): number => sorted[o.latencyWindow - o.latencySlow]!;
  const recent = logs.slice(n - o.latencyWindow).sort(ascending);
  const window = logs.slice(Math.max(0, n - o.recent - o.baseline), n - o.recent);
  const base = [...window].sort(ascending);
  const m = median(base);
  const mad = median(base.map((x) => Math.abs(x - m)).sort(ascending));
  const now = level(recent);
  if (now - m <= Math.max(o.deviations * MAD_TO_SIGMA * mad, Math.log(o.minRatio))) return null;
  // Heavy-tailed noise (Cauchy-like) makes a run of slow samples now and then: a recent level no
  // higher than one the baseline itself produced is the agent's own noise.
  for (let i = 0; i + o.latencyWindow <= window.length; i++)
    if (level(window.slice(i, i + o.latencyWindow).sort(ascending)) >= now) return null;
  const slow = `${o.latencySlow} of the newest ${o.latencyWindow}`;
  return `latency ${formatMs(Math.exp(now))} in ${slow} vs baseline ${formatMs(Math.exp(m))} (MAD ${percent(Math.expm1(mad))})`;
}

/**
 * The highest failure rate `failures` of `attempts` make plausible at confidence 1 − `delta`: the
 * largest q with attempts·D(observed ‖ q) ≤ ln(1/delta) (the KL upper confidence bound).
 */
function upperRate(failures: number, attempts: number, delta: number): number {
  if (attempts === 0) return 1;
  const observed = failures / attempts;
  const budget = Math.log(1 / delta) / attempts;
  let low = observed;
  let high = 1;
  for (let i = 0; i < 40; i++) {
    const mid = (low + high) / 2;
    if (divergence(observed, mid) > budget) high = mid;
    else low = mid;
  }
  return low;
}

/**
 * Failures: the failure rate of the newest samples against the rate of the `baseline` samples
 * before the newest `recent`. A median of per-sample rates is 0 for any agent that fails
 * less than every other time, so the count is tested against the binomial tail at the baseline
 * rate instead, through the Chernoff bound P ≤ exp(−n·D(rate ‖ baseline)). The baseline rate is
 * its upper confidence bound at `baselineConfidence`: a baseline that was lucky (no failures in
 * 140 attempts of an agent that fails 2 % of the time) must not make ordinary failures look like
 * a change. Every window of the newest 1…`recent` samples is tested (a scan), each at
 * `alpha / recent`: a sharp step shows in a short window, a milder one in a longer.
 */
function failureVerdict(samples: readonly HealthSample[], o: HealthOptions): string | null {
  const n = samples.length;
  if (n < o.minBaseline + o.recent) return null;
  let baseAttempts = 0;
  let baseFailures = 0;
  for (const s of samples.slice(Math.max(0, n - o.recent - o.baseline), n - o.recent)) {
    baseAttempts += s.attempts;
    baseFailures += s.failures;
  }
  const p = upperRate(baseFailures, baseAttempts, 1 - o.baselineConfidence);
  const bound = Math.log(o.recent / o.alpha);
  let attempts = 0;
  let failures = 0;
  for (let i = n - 1; i >= n - o.recent; i--) {
    attempts += samples[i]!.attempts;
    failures += samples[i]!.failures;
    const rate = failures / attempts;
    if (rate >= p + o.minRise && attempts * divergence(rate, p) > bound)
      return `failure rate ${percent(rate)} (${failures} of ${attempts} attempts) vs baseline ${percent(baseFailures / baseAttempts)}`;
  }
  return null;
}

/**
 * Whether an agent is degraded, from its own history alone: its latency or failure rate over its
 * newest samples is far from its baseline (the samples before them). Samples in time order; a
 * pure function of them, `now` and the options, so every replica that holds the same history
 * reaches the same verdict. See the README's "Agent health" for the bounds.
 */
export function assessHealth(
  samples: readonly HealthSample[],
  now: number,
  options: HealthOptions = defaultHealth,
): AgentHealth {
  const newest = samples.at(-1);
  if (newest === undefined || now - newest.at > options.staleMs) return healthy;
  // Only the newest samples count: walking back from the end keeps an hour of history cheap.
  const latencies: number[] = [];
  const wanted = options.baseline + options.recent;
  for (let i = samples.length - 1; i >= 0 && latencies.length < wanted; i--) {
    const ms = samples[i]!.latencyMs;
    if (ms !== null) latencies.push(ms);
  }
  latencies.reverse();
  const reasons = [failureVerdict(samples, options), latencyVerdict(latencies, options)].filter(
    (r) => r !== null,
  );
  return reasons.length === 0 ? healthy : { degraded: true, reason: reasons.join('; ') };
}
