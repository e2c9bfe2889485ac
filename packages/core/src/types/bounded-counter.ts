import { DecodeError } from '../codec/decode-error.ts';
import type { Reader } from '../codec/reader.ts';
import type { Writer } from '../codec/writer.ts';
import type { CrdtType } from '../crdt-type.ts';
import type { ReplicaId } from '../replica.ts';
import { checkAmount, checkRoom, checkString } from './check.ts';
import { InsufficientRights, InvalidArgumentError } from './errors.ts';
import {
  countsAdd,
  joinCounts,
  readCounts,
  sumCounts,
  writeCounts,
  type ReplicaCounts,
} from './replica-map.ts';
import { Handle } from './handle.ts';

/**
 * Bounded counter (Balegas et al. 2015): the value is the rights in
 * circulation. `transfers[i][i]` counts increments by i (rights it created),
 * `transfers[i][j]` rights i gave j, `spent[i]` decrements by i. Every entry
 * only grows, so the join is pointwise max; a replica only spends rights it
 * holds, so the value never drops below zero without any coordination.
 */
export interface BoundedCounterState {
  readonly transfers: Map<ReplicaId, ReplicaCounts>;
  readonly spent: ReplicaCounts;
}

export const boundedCounterType: CrdtType<BoundedCounterState> = {
  name: 'boundedcounter',
  empty: () => ({ transfers: new Map(), spent: new Map() }),
  join(state, delta) {
    let changed = false;
    for (const [from, row] of delta.transfers) {
      let mine = state.transfers.get(from);
      if (mine === undefined) {
        mine = new Map();
        state.transfers.set(from, mine);
      }
      if (joinCounts(mine, row)) changed = true;
      if (mine.size === 0) state.transfers.delete(from);
    }
    return joinCounts(state.spent, delta.spent) || changed;
  },
  encode(w: Writer, s) {
    const froms = [...s.transfers.keys()]
      .filter((r) => sumCounts(s.transfers.get(r) as ReplicaCounts) > 0)
      .sort();
    w.uint(froms.length);
    for (const from of froms) {
      w.replica(from);
      writeCounts(w, s.transfers.get(from) as ReplicaCounts);
    }
    writeCounts(w, s.spent);
  },
  decode(r: Reader) {
    const n = r.count('bounded counter rows', 3);
    const transfers = new Map<ReplicaId, ReplicaCounts>();
    let last: ReplicaId | undefined;
    for (let i = 0; i < n; i++) {
      const from = r.replica('bounded counter replica');
      if (last !== undefined && from <= last)
        throw new DecodeError('invalid', 'bounded counter: rows not sorted');
      last = from;
      const row = readCounts(r, 'bounded counter transfers');
      if (row.size === 0) throw new DecodeError('invalid', 'bounded counter: empty row');
      transfers.set(from, row);
    }
    return { transfers, spent: readCounts(r, 'bounded counter spent') };
  },
};

/** Rights `replica` holds now: created + received − given − spent. */
function boundedRights(state: BoundedCounterState, replica: ReplicaId): number {
  let rights = -(state.spent.get(replica) ?? 0);
  for (const [from, row] of state.transfers) {
    if (from === replica) {
      for (const [to, n] of row) rights += to === replica ? n : -n;
    } else {
      rights += row.get(replica) ?? 0;
    }
  }
  return rights;
}

/**
 * The value: the sum of every replica's rights. A replica whose spending
 * arrived before the rights that funded it (deltas may arrive out of order)
 * counts as zero until they do, so the value never reads below zero.
 */
function boundedValue(state: BoundedCounterState): number {
  const rights = new Map<ReplicaId, number>();
  const add = (r: ReplicaId, n: number): void => void rights.set(r, (rights.get(r) ?? 0) + n);
  for (const [from, row] of state.transfers) {
    for (const [to, n] of row) {
      add(to, n);
      if (to !== from) add(from, -n);
    }
  }
  for (const [r, n] of state.spent) add(r, -n);
  let value = 0;
  for (const n of rights.values()) if (n > 0) value += n;
  return value;
}

function grant(state: BoundedCounterState, from: ReplicaId, to: ReplicaId, n: number): BoundedCounterState {
  const row = state.transfers.get(from) ?? new Map<ReplicaId, number>();
  return { transfers: new Map([[from, countsAdd(row, to, n)]]), spent: new Map() };
}

/** A counter whose value never drops below zero: each replica spends only the rights it holds. */
export class BoundedCounter extends Handle<BoundedCounterState> {
  /** Adds `n` to the value; the new rights belong to this replica. */
  increment(n = 1): void {
    checkAmount(n, 'BoundedCounter.increment');
    if (n > 0) this.sink.emit(grant(this.state, this.sink.replica, this.sink.replica, n));
  }

  /** Subtracts `n`, spending local rights. Throws {@link InsufficientRights} when this replica holds fewer than `n`. */
  decrement(n = 1): void {
    checkAmount(n, 'BoundedCounter.decrement');
    const replica = this.sink.replica;
    const available = boundedRights(this.state, replica);
    if (n > available) throw new InsufficientRights(n, available);
    if (n === 0) return;
    this.sink.emit({ transfers: new Map(), spent: countsAdd(this.state.spent, replica, n) });
  }

  /** Gives `n` of this replica's rights to `to`. Throws {@link InsufficientRights} when it holds fewer. */
  transfer(to: ReplicaId, n: number): void {
    checkString(to, 'BoundedCounter.transfer', this.sink.limits);
    checkAmount(n, 'BoundedCounter.transfer');
    const replica = this.sink.replica;
    if (to === replica || to.length === 0)
      throw new InvalidArgumentError('BoundedCounter.transfer: bad recipient');
    const available = boundedRights(this.state, replica);
    if (n > available) throw new InsufficientRights(n, available);
    if (n === 0) return;
    const row = this.state.transfers.get(replica);
    if (row?.has(to) !== true) checkRoom(row?.size ?? 0, 'BoundedCounter.transfer', this.sink.limits);
    this.sink.emit(grant(this.state, replica, to, n));
  }

  get value(): number {
    return boundedValue(this.state);
  }

  /** Rights `replica` holds as far as this replica knows (default: this replica's own). */
  rights(replica: ReplicaId = this.sink.replica): number {
    return boundedRights(this.state, replica);
  }
}
