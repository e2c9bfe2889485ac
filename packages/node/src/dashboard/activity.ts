import type { Coordinator } from '@meshwork/coordinator';
import { ApiError } from '../http-server.ts';
import { MAX_BUCKETS, type ActivityQuery } from './schema.ts';

/** Per-bucket series, aligned on `at` (each bucket's start, ms since the epoch). */
export type Activity = {
  from: number;
  to: number;
  bucketMs: number;
  at: number[];
  /** Attempts that ended succeeded / failed (timed out included) in the bucket. */
  succeeded: number[];
  failed: number[];
  /** Attempts started in the bucket. */
  starts: number[];
  /** Starts beyond a task's first (retries and failovers). */
  duplicateStarts: number[];
  /** Starts that took over from a holder that was lost (its attempt fenced or never ended). */
  failovers: number[];
  /** Submit to first start of the tasks first started in the bucket; null without any. */
  submitToStartMeanMs: (number | null)[];
  submitToStartMaxMs: (number | null)[];
};

/**
 * The mesh's task activity over the last `windowMs`, from the shared state every node holds (the
 * tasks not yet removed after their retention period, and their attempts): the same figures on
 * any node, however long the dashboard asking has been open.
 */
export function activityOf(coordinator: Coordinator, query: ActivityQuery, now = Date.now()): Activity {
  const bucketMs = query.bucketMs ?? Math.max(1_000, Math.ceil(query.windowMs / 60 / 1_000) * 1_000);
  const count = Math.ceil(query.windowMs / bucketMs);
  if (count > MAX_BUCKETS) {
    throw new ApiError(
      400,
      'invalid_request',
      `query bucketMs: windowMs / bucketMs must be at most ${MAX_BUCKETS} buckets`,
      'bucketMs',
    );
  }
  const to = Math.ceil(now / bucketMs) * bucketMs;
  const from = to - count * bucketMs;
  const zeros = (): number[] => new Array<number>(count).fill(0);
  const a = {
    succeeded: zeros(),
    failed: zeros(),
    starts: zeros(),
    duplicateStarts: zeros(),
    failovers: zeros(),
  };
  const latencySum = zeros();
  const latencyCount = zeros();
  const latencyMax = zeros();
  const bucket = (t: number): number | undefined => {
    if (t < from || t >= to) return undefined;
    return Math.floor((t - from) / bucketMs);
  };
  for (const task of coordinator.list()) {
    const attempts = coordinator.attempts(task.id).sort((x, y) => x.startedAt - y.startedAt);
    attempts.forEach((attempt, i) => {
      const started = bucket(attempt.startedAt);
      if (started !== undefined) {
        a.starts[started]!++;
        if (i === 0) {
          const waited = Math.max(0, attempt.startedAt - task.spec.submittedAt);
          latencySum[started]! += waited;
          latencyCount[started]!++;
          latencyMax[started] = Math.max(latencyMax[started]!, waited);
        } else {
          a.duplicateStarts[started]!++;
          const before = attempts[i - 1]!;
          if (before.outcome === 'fenced' || before.outcome === 'running') a.failovers[started]!++;
        }
      }
      if (attempt.endedAt === null) return;
      const ended = bucket(attempt.endedAt);
      if (ended === undefined) return;
      if (attempt.outcome === 'succeeded') a.succeeded[ended]!++;
      else if (attempt.outcome === 'failed' || attempt.outcome === 'timed-out') a.failed[ended]!++;
    });
  }
  return {
    from,
    to,
    bucketMs,
    at: Array.from({ length: count }, (_, i) => from + i * bucketMs),
    ...a,
    submitToStartMeanMs: latencySum.map((s, i) =>
      latencyCount[i]! > 0 ? Math.round(s / latencyCount[i]!) : null,
    ),
    submitToStartMaxMs: latencyMax.map((m, i) => (latencyCount[i]! > 0 ? m : null)),
  };
}

/** Most distinct queries whose answers are kept at once. */
const CACHED_QUERIES = 16;

/**
 * `activityOf`, each answer reused for `cacheMs`: every open dashboard polls it, and one pass over
 * the tasks then serves them all.
 */
export function cachedActivity(
  coordinator: Coordinator,
  cacheMs = 2_000,
): (query: ActivityQuery) => Activity {
  const answers = new Map<string, { at: number; activity: Activity }>();
  return (query) => {
    const key = `${query.windowMs}/${query.bucketMs ?? ''}`;
    const now = Date.now();
    const kept = answers.get(key);
    if (kept !== undefined && now - kept.at < cacheMs) return kept.activity;
    if (answers.size >= CACHED_QUERIES) answers.clear();
    const activity = activityOf(coordinator, query, now);
    answers.set(key, { at: now, activity });
    return activity;
  };
}
