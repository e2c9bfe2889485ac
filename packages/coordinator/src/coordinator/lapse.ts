import type { ReplicaId } from '@meshwork/core';
import type { DelayEstimator } from '../delay.ts';
import { hash53 } from '../hash.ts';
import type { TaskId } from '../model.ts';

/**
 * When this replica takes an epoch's lease for lapsed: the moment, in its own clock, from which it
 * writes the expiry that opens the next epoch.
 *
 * - **In transit.** Another node's renewal reaches this one as late as its records do, so its
 *   lease is judged by the measured delivery delay (the p99 that sizes the settle window, clock
 *   skew included), at most `maxTransitLeases` leases so a silent holder is still found.
 * - **A live holder ends its own epochs.** Its node knows whether its agent runs, and writes the
 *   expiry itself when the lease runs out (its own clock, no message in between). Others hear of a
 *   renewal only as fast as their links bring it: a node whose reading fell behind (a backlog, a
 *   neighbour that stalled) would take a running attempt for lapsed and start the task again. So
 *   while membership says the holder is alive, another node declares its epoch lost only as a
 *   backstop, LIVE_HOLDER_LEASES leases later; once it is gone, as its lease says.
 * - **Not all at once.** Every replica watches every open task: were they all to declare a lapse
 *   the moment it is due, a mesh of N nodes would write N expiries of one epoch, each sent to every
 *   node. Each replica waits a share of N × that delay, its own by a hash of the task and itself:
 *   the first is about one delay late, and its expiry reaches most of the others before their turn.
 */
export interface LapseRule {
  /**
   * When the epoch of `holder`, whose lease ends at `leaseEnd` (grace included), counts as lapsed
   * here, in a mesh of `nodes` nodes; `holderAlive`: membership says the holder's node is alive.
   */
  lapsesAt(
    task: TaskId,
    epoch: number,
    holder: ReplicaId,
    leaseEnd: number,
    nodes: number,
    holderAlive: boolean,
  ): number;
  /**
   * When a holder that membership has reported unreachable since `goneAt` counts as gone: after
   * the grace and the delivery delay, as a lease would. A node that lost its links for a moment
   * (a stall, or an overloaded neighbour) comes back before, and its epochs are not fenced.
   */
  goneAt(goneAt: number): number;
}

/**
 * How long past its end another node leaves a live holder's lease to the holder, in leases: long
 * enough for a reader that fell behind to catch up, short enough that a holder unable to write its
 * expiry (a store that refuses writes) does not keep a task for good.
 */
export const LIVE_HOLDER_LEASES = 10;

export function createLapseRule(o: {
  readonly replica: ReplicaId;
  readonly delay: Pick<DelayEstimator, 'p99'>;
  readonly leaseMs: number;
  readonly graceMs: number;
  /** Most delivery delay a lease is judged with, in leases (default 3): a silent holder is still found. */
  readonly maxTransitLeases?: number;
}): LapseRule {
  const seed = hash53(o.replica);
  const transit = (): number => Math.min(o.delay.p99() ?? 0, (o.maxTransitLeases ?? 3) * o.leaseMs);
  return {
    lapsesAt(task, epoch, holder, leaseEnd, nodes, holderAlive) {
      // This node's own claims and attempts need no message to be known ended.
      if (holder === o.replica) return leaseEnd;
      const d = transit();
      const turn = hash53(`${task}|${epoch}`, seed) / 2 ** 53;
      const backstop = holderAlive ? LIVE_HOLDER_LEASES * o.leaseMs : 0;
      return leaseEnd + backstop + d + turn * Math.max(0, nodes - 1) * d;
    },
    goneAt: (goneAt) => goneAt + o.graceMs + transit(),
  };
}
