import type { ReplicaId } from '@meshwork/core';
import type { Clock } from '../clock.ts';
import type { DelayEstimator } from '../delay.ts';
import type { Emitter } from '@meshwork/core';
import type { CoordinatorEvents } from '../events.ts';
import { recordKinds, type CoordinationStore, type RecordChange, type StoreChanges } from '../store.ts';
import type { TaskIndex } from '../task-index.ts';
import type { Workflows } from '../workflows.ts';
import type { Liveness } from './liveness.ts';
import type { ReceiptRetention } from './receipt-retention.ts';
import type { Scheduler } from './scheduler.ts';

/**
 * Takes store changes into the task index: measures delivery delay on other nodes' claims,
 * reports malformed records, and marks the tasks and workflow runs they touch for the next pass.
 */
export interface ChangeIntake {
  /** The store's change listener. */
  readonly onChanges: (changes: StoreChanges, isLocal: boolean) => void;
  /** Takes in the state already in the store (restored from disk, or synced before the start). */
  loadAll(): void;
  /**
   * Measures delivery delay from now on, on records written from `at` (this replica's clock): the
   * moment it caught up. Records written before arrive late because this replica was away or
   * catching up, which says nothing of how long the mesh takes to deliver.
   */
  measureFrom(at: number): void;
}

export interface ChangeIntakeDeps {
  readonly replica: ReplicaId;
  readonly clock: Clock;
  readonly store: CoordinationStore;
  readonly index: TaskIndex;
  readonly delay: DelayEstimator;
  readonly events: Emitter<CoordinatorEvents>;
  readonly workflows: Pick<Workflows, 'markDirty'>;
  readonly scheduler: Pick<Scheduler, 'markDirty' | 'schedule' | 'claimRead' | 'receiptRead'>;
  /** Told of every record from another replica: news of the mesh after a stall. */
  readonly liveness: Pick<Liveness, 'heard' | 'wokeAt'>;
  /** Tells receipts addressed to this replica from the others. */
  readonly isReceiptForMe: (key: string) => boolean;
  /** Follows the receipts held, for their removal once a node is gone (see receipt-retention.ts). */
  readonly receiptIndex: Pick<ReceiptRetention, 'track' | 'clear'>;
}

export function createChangeIntake(deps: ChangeIntakeDeps): ChangeIntake {
  const { replica, clock, store, index, delay, events, scheduler } = deps;
  let measuredFrom = Infinity;

  const allRecords = (): RecordChange[] =>
    recordKinds.flatMap((kind) => [...store.entries(kind)].map(([key]) => ({ kind, key })));

  function onChanges(changes: StoreChanges, isLocal: boolean): void {
    if (!isLocal) deps.liveness.heard();
    if (changes === 'all') return reload();
    const receipts: string[] = [];
    for (const c of changes) if (c.kind === 'receipt') receipts.push(c.key);
    if (receipts.length > 0) {
      deps.receiptIndex.track(receipts);
      if (receipts.some(deps.isReceiptForMe)) scheduler.receiptRead();
    }
    const { tasks, workflows, malformed, claims, leases } = index.apply(changes);
    if (!isLocal) {
      // Delivery delay: receive time minus the writer's stamp, for claims and lease renewals of other
      // nodes. Renewals keep the measure current while tasks run and nothing is claimed. Not starts:
      // a start record is written with the pass after the attempt started. Not the backlog a
      // replica receives as it comes back (see measureFrom) or wakes from a stall.
      const now = clock.now();
      const from = Math.max(measuredFrom, deps.liveness.wokeAt());
      for (const c of claims) {
        if (c.node === replica) continue;
        if (c.at >= from) delay.sample(now - c.at);
        // Its receipt is due half a window after the claim, in time for the claimer's decision a
        // window and a quarter after it; a claimer whose clock runs ahead gets it a quarter window from now.
        scheduler.claimRead(c, Math.min(c.at + c.settleMs / 2, now + c.settleMs / 4));
      }
      for (const l of leases)
        if (l.node !== replica && typeof l.at === 'number' && l.at >= from && Number.isFinite(l.at))
          delay.sample(now - l.at);
    }
    if (malformed > 0) events.emit('malformed', [{ count: malformed }]);
    for (const t of tasks) for (const id of index.invalidate(t)) scheduler.markDirty(id);
    for (const run of workflows) deps.workflows.markDirty(run);
    scheduler.schedule(0);
  }

  /** Loads the whole store again (a snapshot was merged): any record may have changed or gone. */
  function reload(): void {
    const known = [...index.taskIds(), ...index.orphans()];
    index.clear();
    deps.receiptIndex.clear();
    onChanges(allRecords(), true);
    for (const id of known) scheduler.markDirty(id);
    scheduler.schedule(0);
  }

  return {
    onChanges,
    // State already in the store counts as received: no delay samples from it.
    loadAll: () => onChanges(allRecords(), true),
    measureFrom: (at) => void (measuredFrom = at),
  };
}
