import { invalid } from './errors.ts';
import { hashUnit } from './hash.ts';

export interface BackoffPolicy {
  /** Delay before the second attempt. */
  readonly initialMs: number;
  /** Growth per further attempt. */
  readonly factor: number;
  /** Cap on any one delay. */
  readonly maxMs: number;
  /** Fraction of the delay randomised, 0..1; the jitter is seeded by task and attempt so every replica agrees. */
  readonly jitter: number;
}

export interface RetryPolicy {
  /** Attempts in total, including the first. */
  readonly maxAttempts: number;
  readonly backoff: BackoffPolicy;
}

export const defaultRetry: RetryPolicy = {
  maxAttempts: 3,
  backoff: { initialMs: 500, factor: 2, maxMs: 30_000, jitter: 0.2 },
};

/** Delay after failed attempt number `attempt` (1-based) before the next one may be claimed. */
export function backoffDelay(policy: BackoffPolicy, taskId: string, attempt: number): number {
  const base = Math.min(policy.maxMs, policy.initialMs * policy.factor ** Math.max(0, attempt - 1));
  const spread = base * policy.jitter;
  return Math.round(base - spread + 2 * spread * hashUnit(`${taskId}#${attempt}`));
}

export function parseRetry(input: unknown, field = 'retry'): RetryPolicy {
  if (input === undefined) return defaultRetry;
  if (typeof input !== 'object' || input === null) throw invalid(field, 'must be an object');
  const r = input as { maxAttempts?: unknown; backoff?: unknown };
  const maxAttempts = r.maxAttempts ?? defaultRetry.maxAttempts;
  if (!Number.isSafeInteger(maxAttempts) || (maxAttempts as number) < 1 || (maxAttempts as number) > 1000) {
    throw invalid(`${field}.maxAttempts`, 'must be an integer from 1 to 1000');
  }
  const b = (r.backoff ?? {}) as Partial<Record<keyof BackoffPolicy, unknown>>;
  if (typeof b !== 'object' || b === null) throw invalid(`${field}.backoff`, 'must be an object');
  const num = (name: keyof BackoffPolicy, min: number, max: number): number => {
    const v = b[name] ?? defaultRetry.backoff[name];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
      throw invalid(`${field}.backoff.${name}`, `must be a number from ${min} to ${max}`);
    }
    return v;
  };
  return {
    maxAttempts: maxAttempts as number,
    backoff: {
      initialMs: num('initialMs', 0, 86_400_000),
      factor: num('factor', 1, 100),
      maxMs: num('maxMs', 0, 86_400_000),
      jitter: num('jitter', 0, 1),
    },
  };
}
