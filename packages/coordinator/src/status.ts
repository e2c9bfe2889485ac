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
  /**
   * The one accepted result: the successful attempt with the lowest epoch (then agent id) among
   * the epochs not fenced (declared lost, with an attempt of a later epoch started), or the final failure.
   */
  readonly accepted: AttemptEnd | null;
  /** Earliest time a claim for `epoch + 1` may be made, when the task waits for its next attempt. */
  readonly nextAttemptAt: number | null;
  readonly reason: string | null;
}

function byEpochThenAgent<T extends { epoch: number; agent: string }>(a: T, b: T): number {
  return a.epoch - b.epoch || (a.agent < b.agent ? -1 : a.agent > b.agent ? 1 : 0);
}

/**
 * The first (or, with `last`, the final) record by epoch then agent among those `keep` accepts.
 * A loop, not filter and sort: every replica derives every task it hears of several times.
 */
function pick<T extends { epoch: number; agent: string }>(
  records: readonly T[],
  keep: (r: T) => boolean,
  last = false,
): T | null {
  let out: T | null = null;
  for (const r of records) {
    if (!keep(r)) continue;
    if (out === null || byEpochThenAgent(r, out) < 0 !== last) out = r;
  }
  return out;
}

/**
 * Whether the results of `epoch` are refused: it was declared lost (an expiry record) and an
 * attempt of a later epoch has started. A late result that arrives before the next attempt
 * starts is still taken, so the task is not run again for nothing.
 */
export function fenced(r: TaskRecords, epoch: number): boolean {
  if (!r.expiries.some((x) => x.epoch === epoch)) return false;
  return r.starts.some((s) => s.epoch > epoch) || r.ends.some((e) => e.epoch > epoch);
}

/**
 * The attempts a task has used up to `lastEpoch`: the epochs in which an attempt started. An epoch
 * whose claim lapsed before its holder started (cut off or overloaded while it waited for its
 * rivals' receipts) ran nothing, so it does not count against `maxAttempts`; one whose holder
 * started and then died does, so a task that kills its node still fails in the end.
 */
function startedEpochs(r: TaskRecords, lastEpoch: number): number {
  if (lastEpoch <= 0) return 0;
  const epochs = new Set<number>();
  for (const s of r.starts) if (s.epoch <= lastEpoch) epochs.add(s.epoch);
  for (const e of r.ends) if (e.epoch <= lastEpoch) epochs.add(e.epoch);
  return epochs.size;
}

/**
 * Derives a task's status from its records and its dependencies' statuses. A pure
 * function of sets, so replicas holding the same records agree, whatever the order
 * in which the records arrived.
 */
export function deriveTask(r: TaskRecords, dependency: (id: TaskId) => TaskStatus | undefined): DerivedTask {
  let epoch = 0;
  for (const c of r.claims) if (c.epoch > epoch) epoch = c.epoch;
  const current = r.claims.every((c) => c.epoch === epoch)
    ? r.claims
    : r.claims.filter((c) => c.epoch === epoch);
  const winner = selectWinner(current);
  const decidesAt = decisionTime(current);
  let start: AttemptStart | null = null;
  for (const s of r.starts) {
    if (s.epoch !== epoch) continue;
    if (start === null || (s.agent === winner?.agent && start.agent !== winner.agent)) start = s;
  }
  // A start carries the attempt's first lease; renewals are lease records. The latest one of the
  // holder counts: a claimer that renewed while it waited for receipts and then lost to another
  // claim holds nothing.
  const holder = start?.agent ?? winner?.agent;
  let lease: Lease | null = null;
  for (const l of r.leases)
    if (l.epoch === epoch && l.agent === holder && (lease === null || l.until > lease.until)) lease = l;
  for (const s of r.starts)
    if (
      s.epoch === epoch &&
      s.agent === holder &&
      typeof s.until === 'number' &&
      (lease === null || s.until > lease.until)
    )
      lease = { task: s.task, epoch: s.epoch, agent: s.agent, node: s.node, until: s.until };
  const expired = r.expiries.some((x) => x.epoch === epoch);
  // A lost epoch's late end does not count: the next attempt starts at once, with no backoff.
  const endNow = expired ? null : pick(r.ends, (e) => e.epoch === epoch);
  const epochClosed = epoch > 0 && (endNow !== null || expired);
  const attemptsUsed = startedEpochs(r, epochClosed ? epoch : epoch - 1);
  const started = r.starts.length > 0 || r.ends.length > 0;
  const derived = (
    status: TaskStatus,
    accepted: AttemptEnd | null,
    reason: string | null,
    nextAttemptAt: number | null = null,
  ): DerivedTask => ({
    status,
    epoch,
    epochClosed,
    winner,
    decidesAt,
    lease,
    start,
    started,
    attemptsUsed,
    accepted,
    nextAttemptAt,
    reason,
  });

  // A success of an epoch declared lost (its holder crashed before the result got out, or was cut
  // off) is refused once a later attempt has started: that attempt's result is the one.
  const success = pick(r.ends, (e) => e.outcome === 'succeeded' && !fenced(r, e.epoch));
  if (success !== null) return derived('succeeded', success, null);
  if (r.cancel !== null) return derived('cancelled', null, r.cancel.reason);
  for (const dep of r.spec.dependsOn) {
    const s = dependency(dep);
    if (s === 'failed' || s === 'cancelled') return derived('failed', null, `dependency ${dep} ${s}`);
  }
  if (r.startTimeout !== null && !started) return derived('failed', null, 'schedule-to-start timeout');
  const permanent = pick(r.ends, (e) => e.outcome === 'failed' && !e.retryable && !fenced(r, e.epoch));
  if (permanent !== null) return derived('failed', permanent, permanent.error);
  if (epochClosed) {
    const lastEnd = pick(r.ends, (e) => e.epoch === epoch, true);
    if (attemptsUsed >= r.spec.retry.maxAttempts) {
      return derived('failed', lastEnd, lastEnd?.error ?? `lost after ${attemptsUsed} attempts`);
    }
    // A failed handler backs off; a lost agent is replaced at once.
    const nextAttemptAt =
      endNow === null ? 0 : endNow.endedAt + backoffDelay(r.spec.retry.backoff, r.spec.id, attemptsUsed);
    return derived('pending', null, lastEnd?.error ?? null, nextAttemptAt);
  }
  if (epoch === 0) return derived('pending', null, null, 0);
  return derived(start === null ? 'claimed' : 'running', null, null);
}
