import type { ReplicaId } from '@meshwork/core';
import { hasRecordShape } from '../record-shapes.ts';
import type { CoordinationStore, RecordWrite, WriteOrder } from '../store.ts';

/*
 * Receipts: how a node learns that every node which could have raced its claim has seen it.
 *
 * A node that reads another node's claim for a task it could have claimed too writes a receipt:
 * "I have every transaction of that claimer up to seq s". A rival that had claimed before it saw
 * the claim wrote that claim in an earlier transaction of its own than the receipt, and a rival
 * that saw the claim first claims nothing in that epoch (the task is no longer pending for it).
 * So once the claimer holds a rival's receipt covering its claim, and every transaction of that
 * rival up to the receipt's, it holds every claim that rival made in the epoch: the winner it
 * computes is final as far as that rival goes, whatever the delays on the way. No clock is read.
 *
 * One receipt record per (reader, claimer) pair, rewritten as the reader reads more: its cost
 * follows how many nodes claim, not how many tasks are claimed.
 */

/** Leases a claim may wait for its receipts past its decision time before it lapses. */
export const RECEIPT_WAIT_LEASES = 10;

/** A receipt as stored; its writer is the node that read, and its key names the claimer. */
interface ReceiptRecord {
  /** Every transaction of `of` with a seq up to this was here when the receipt was written. */
  readonly upTo: number;
  /** The receipt's own transaction: its writer's seq of it. */
  readonly in: number;
}

export const receiptKey = (reader: ReplicaId, claimer: ReplicaId): string => `${reader}>${claimer}`;

export interface Receipts {
  /**
   * A claim by `claimer` was read, for a task this node could have claimed: it is owed a receipt
   * by local time `by`. Until then other claims it reads are owed by the same receipt, so a busy
   * node writes one per claimer and half window, not one per claim.
   */
  owe(claimer: ReplicaId, by: number): void;
  /** Whether a receipt is owed to `claimer` already: a further claim of it joins that debt. */
  owes(claimer: ReplicaId): boolean;
  /** When an owed receipt falls due (Infinity: none is owed). */
  readonly nextDue: number;
  /**
   * The receipts to write in this replica's next transaction, which must go out at once with the
   * pass's other records (their `in` is that transaction's seq): all that are owed once one of
   * them is due, else none.
   */
  due(now: number): RecordWrite[];
  /**
   * How far `rival` has receipted this replica's transactions (0: not at all), counting its receipt
   * only once every transaction of the rival up to the receipt's is here.
   */
  covered(rival: ReplicaId): number;
  /** The seq of this replica's latest transaction: the one its claims just went out in. */
  latest(): number;
  /** Whether a change to this record key is a receipt addressed to this replica. */
  isForMe(key: string): boolean;
}

export function createReceipts(
  store: Pick<CoordinationStore, 'replica' | 'read'>,
  order: WriteOrder,
): Receipts {
  const me = store.replica;
  /**
   * Claimers owed a receipt: the highest seq of theirs read when the debt arose (the claim is at or
   * below it, and a receipt is owed until it covers that far: a gap below a claim that arrived
   * early is filled later by anti-entropy), and when the receipt falls due.
   */
  const owed = new Map<ReplicaId, { target: number; by: number }>();
  /**
   * How far this replica's stored receipt to `claimer` covers (0: none): a receipt is rewritten only
   * when it covers more, or when it was removed (its claimer was gone for a while, see
   * receipt-retention.ts).
   */
  const written = (claimer: ReplicaId): number => {
    const stored = store.read('receipt', receiptKey(me, claimer));
    if (stored?.writer !== me || !hasRecordShape('receipt', stored.value)) return 0;
    return (stored.value as unknown as ReceiptRecord).upTo;
  };
  const suffix = `>${me}`;
  let nextDue = Infinity;

  return {
    owe(claimer, by) {
      if (claimer === me) return;
      const debt = owed.get(claimer);
      const target = order.highest(claimer);
      if (debt === undefined) owed.set(claimer, { target, by });
      else {
        debt.target = Math.max(debt.target, target);
        debt.by = Math.min(debt.by, by);
      }
      nextDue = Math.min(nextDue, by);
    },
    owes: (claimer) => owed.has(claimer),
    get nextDue() {
      return nextDue;
    },
    due(now) {
      if (owed.size === 0 || now < nextDue) return [];
      const seq = order.highest(me) + 1;
      const out: RecordWrite[] = [];
      nextDue = Infinity;
      for (const [claimer, debt] of owed) {
        const upTo = order.contiguous(claimer);
        // A receipt that stops short of the claim would not serve it: wait for the gap to fill.
        if (upTo < debt.target) {
          nextDue = Math.min(nextDue, debt.by);
          continue;
        }
        owed.delete(claimer);
        if (upTo <= written(claimer)) continue;
        const value: ReceiptRecord = { upTo, in: seq };
        out.push({ kind: 'receipt', key: receiptKey(me, claimer), value: { ...value } });
      }
      return out;
    },
    covered(rival) {
      const stored = store.read('receipt', receiptKey(rival, me));
      if (stored?.writer !== rival || !hasRecordShape('receipt', stored.value)) return 0;
      const r = stored.value as unknown as ReceiptRecord;
      return order.contiguous(rival) >= r.in ? r.upTo : 0;
    },
    latest: () => order.highest(me),
    isForMe: (key) => key.endsWith(suffix),
  };
}
