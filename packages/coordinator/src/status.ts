import { backoffDelay } from './retry.ts';
import { decisionTime, selectWinner } from './winner.ts';
import type { AttemptEnd, AttemptStart, Claim, Lease, TaskId, TaskRecords } from './model.ts';

export type TaskStatus = 'pending' | 'claimed' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export const terminalStatuses: ReadonlySet<TaskStatus> = new Set(['succeeded', 'failed', 'cancelled']);

/** A task's state as derived from its records; never stored. */
export interface DerivedTask {
  readonly status: TaskStatus;
  /** Highest epoch with claims; 0 before the first claim. */
  readonly epoch: number;
  /** Whether that epoch has ended (result, expiry, or a later epoch). */
  readonly epochClosed: boolean;
  /** Winner of the current epoch (provisional until its decision time). */
  readonly winner: Claim | null;
  /** Local time from which the current epoch's winner may start. */
  readonly decidesAt: number | null;
  readonly lease: Lease | null;
  readonly start: AttemptStart | null;
  /**
   * Whether any attempt has started, in any epoch. An attempt that ended before its start
   * record was written has only an end record, which counts.
   */
  readonly started: boolean;
  /** Attempts that have ended, whatever their outcome (failed, timed out, lost or succeeded). */
  readonly attemptsUsed: number;
  /** The one accepted result: the successful attempt with the lowest epoch (then agent id), or the final failure. */
  readonly accepted: AttemptEnd | null;
  /** Earliest time a claim for `epoch + 1` may be made, when the task waits for its next attempt. */
  readonly nextAttemptAt: number | null;
  readonly reason: string | null;
}

function byEpochThenAgent<T extends { epoch: number; agent: string }>(a: T, b: T): number {
  return a.epoch - b.epoch || (a.agent < b.agent ? -1 : a.agent > b.agent ? 1 : 0);
}

/**
 * Derives a task's status from its records and its dependencies' statuses. A pure
 * function of sets, so replicas holding the same records agree, whatever the order
 * in which the records arrived.
 */
export function deriveTask(r: TaskRecords, dependency: (id: TaskId) => TaskStatus | undefined): DerivedTask {
  const epoch = r.claims.reduce((m, c) => Math.max(m, c.epoch), 0);
  const current = r.claims.filter((c) => c.epoch === epoch);
  const winner = selectWinner(current);
  const decidesAt = decisionTime(current);
  const startsNow = r.starts.filter((s) => s.epoch === epoch);
  const start = startsNow.find((s) => s.agent === winner?.agent) ?? startsNow[0] ?? null;
  // A start carries the attempt's first lease; renewals are lease records. The latest one counts.
  const startLeases = startsNow.flatMap((s): Lease[] =>
    typeof s.until === 'number'
      ? [{ task: s.task, epoch: s.epoch, agent: s.agent, node: s.node, until: s.until }]
      : [],
  );
  const lease = [...r.leases.filter((l) => l.epoch === epoch), ...startLeases].reduce<Lease | null>(
    (m, l) => (m === null || l.until > m.until ? l : m),
    null,
  );
  const endNow = r.ends.filter((e) => e.epoch === epoch).sort(byEpochThenAgent)[0] ?? null;
  const expired = r.expiries.some((x) => x.epoch === epoch);
  const epochClosed = epoch > 0 && (endNow !== null || expired);
  const attemptsUsed = Math.max(0, epoch - 1) + (epochClosed ? 1 : 0);
  const started = r.starts.length > 0 || r.ends.length > 0;
  const base = { epoch, epochClosed, winner, decidesAt, lease, start, started, attemptsUsed };
  const done = (status: TaskStatus, accepted: AttemptEnd | null, reason: string | null): DerivedTask => ({
    ...base,
    status,
    accepted,
    nextAttemptAt: null,
    reason,
  });

  const success = r.ends.filter((e) => e.outcome === 'succeeded').sort(byEpochThenAgent)[0];
  if (success !== undefined) return done('succeeded', success, null);
  if (r.cancel !== null) return done('cancelled', null, r.cancel.reason);
  for (const dep of r.spec.dependsOn) {
    const s = dependency(dep);
    if (s === 'failed' || s === 'cancelled') return done('failed', null, `dependency ${dep} ${s}`);
  }
  if (r.startTimeout !== null && !started) return done('failed', null, 'schedule-to-start timeout');
  const permanent = r.ends.filter((e) => e.outcome === 'failed' && !e.retryable).sort(byEpochThenAgent)[0];
  if (permanent !== undefined) return done('failed', permanent, permanent.error);
  if (epochClosed) {
    const lastEnd =
      r.ends
        .filter((e) => e.epoch === epoch)
        .sort(byEpochThenAgent)
        .at(-1) ?? null;
    if (attemptsUsed >= r.spec.retry.maxAttempts) {
      return done('failed', lastEnd, lastEnd?.error ?? `lost after ${attemptsUsed} attempts`);
    }
    // A failed handler backs off; a lost agent is replaced at once.
    const nextAttemptAt =
      endNow === null ? 0 : endNow.endedAt + backoffDelay(r.spec.retry.backoff, r.spec.id, epoch);
    return { ...base, status: 'pending', accepted: null, nextAttemptAt, reason: lastEnd?.error ?? null };
  }
  if (epoch === 0) return { ...base, status: 'pending', accepted: null, nextAttemptAt: 0, reason: null };
  return {
    ...base,
    status: start === null ? 'claimed' : 'running',
    accepted: null,
    nextAttemptAt: null,
    reason: null,
  };
}
