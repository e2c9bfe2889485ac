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
