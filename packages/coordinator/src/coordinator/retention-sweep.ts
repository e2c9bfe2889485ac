import type { Emitter, PresenceChannel, ReplicaId } from '@meshwork/core';
import type { CoordinatorEvents } from '../events.ts';
import type { TaskId } from '../model.ts';
import { createRetention, type Retention, type RetentionOptions } from '../retention.ts';
import type { CoordinationStore } from '../store.ts';
import type { TaskIndex } from '../task-index.ts';
import type { Workflows } from '../workflows.ts';
import type { Liveness } from './liveness.ts';
import { createReceiptRetention, type ReceiptRetention } from './receipt-retention.ts';
import { RECEIPT_WAIT_LEASES } from './receipts.ts';

/**
 * Retention wired to this coordinator, and the sweeps that remove finished tasks, and the receipts
 * of nodes gone for good, from the shared state.
 */
export interface RetentionSweep extends Pick<Retention, 'finished' | 'forget'> {
  /** Removes the finished tasks and receipts that are due, if a sweep is due at `now`. */
  sweep(now: number): void;
  /** When the next sweep is due (Infinity: none before a change). */
  readonly nextAt: number;
  /**
   * Whether finished tasks or orphaned records are held, or receipts may go now, so sweeps must go
   * on. Receipts that may go only once a node's bound runs out need one sweep then, at `nextAt`.
   */
  retaining(): boolean;
  /** The receipts held, kept up to date from the store's changes. */
  readonly receipts: Pick<ReceiptRetention, 'track' | 'clear'>;
}

export interface RetentionSweepDeps {
  readonly replica: ReplicaId;
  readonly index: TaskIndex;
  readonly workflows: Workflows;
  readonly store: CoordinationStore;
  readonly events: Emitter<CoordinatorEvents>;
  readonly options: RetentionOptions;
  /** Who is in the mesh: a node's receipts go once it left or stayed unreachable long enough. */
  readonly presence: Pick<PresenceChannel, 'status' | 'members'>;
  readonly liveness: Pick<Liveness, 'version'>;
  /** Least time between two passes: no sweep is looked for more often. */
  readonly tickMs: number;
  /** A claim's lease: how long claims may wait for receipts follows from it. */
  readonly leaseMs: number;
  /** Whether an attempt of the task still runs here (it stays until the attempt ends). */
  readonly runningHere: (id: TaskId) => boolean;
}

/** At most this many tasks go per sweep, and this many per removal event. */
const removalLimit = 2_500;
const removalBatch = 200;

/** How long a node stays unreachable (or unknown to membership) before its receipts go. */
const receiptGoneMs = (options: RetentionOptions, leaseMs: number): number =>
  Math.max(2 * options.finishedMs, 2 * RECEIPT_WAIT_LEASES * leaseMs);

export function createRetentionSweep(deps: RetentionSweepDeps): RetentionSweep {
  const { replica, index, workflows, store, events, options } = deps;
  /** Finished tasks are looked at this often. */
  const sweepMs = Math.min(250, Math.max(deps.tickMs, options.finishedMs / 4));
  let nextAt = -Infinity;
  // A node unreachable this long has had its finished tasks removed by the others too (they step
  // in at twice finishedMs), and every claim that waited for its receipts has started or lapsed
  // twice over, so none is left for which it would owe no new receipt once back.
  const receipts = createReceiptRetention({
    replica,
    store,
    presence: deps.presence,
    liveness: deps.liveness,
    goneMs: receiptGoneMs(options, deps.leaseMs),
  });
  const tasksRetained = (): boolean => index.size > index.openTasks().size || index.orphans().size > 0;
  const retention = createRetention(
    {
      index,
      workflows,
      replica,
      runningHere: deps.runningHere,
      // The replica that wrote the task's final record removes it: the accepting one, the canceller,
      // the one that timed it out, else the submitter.
      remover(id) {
        const records = index.records(id)!;
        return (
          index.derive(id)!.accepted?.node ??
          records.cancel?.by ??
          records.startTimeout?.by ??
          records.spec.submittedBy
        );
      },
      runRemover: (run) => index.workflows().get(run)?.startedBy ?? null,
    },
    options,
  );
  return {
    finished: (id, now) => retention.finished(id, now),
    forget: (id) => retention.forget(id),
    sweep(now) {
      if (now < nextAt) return;
      nextAt = now + sweepMs;
      const due = retention.sweep(now, removalLimit);
      for (let i = 0; i < due.length; i += removalBatch) {
        const batch = due.slice(i, i + removalBatch);
        store.remove(batch.flatMap((r) => r.records));
        for (const r of batch)
          if (r.tasks.length > 0) events.emit('removed', [{ tasks: r.tasks, run: r.run, at: now }]);
      }
      const receiptsGone = receipts.sweep(now, removalLimit);
      if (receiptsGone.length > 0) store.remove(receiptsGone);
    },
    get nextAt() {
      return tasksRetained() ? nextAt : Math.max(nextAt, receipts.nextAt);
    },
    retaining: () => tasksRetained() || receipts.nextAt === -Infinity,
    receipts,
  };
}
