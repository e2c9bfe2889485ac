import type { Reader } from '../codec/reader.ts';
import type { Writer } from '../codec/writer.ts';
import type { Causal } from '../causal/causal-state.ts';
import { DotFun } from '../causal/dot-store.ts';
import { funKind } from '../causal/store-kind.ts';
import type { CrdtType } from '../crdt-type.ts';
import { checkAmount } from './check.ts';
import { InvalidArgumentError } from './errors.ts';
import { funWrite } from './mvregister.ts';
import type { MutationSink } from './mutation-sink.ts';
import {
  countsAdd,
  joinCounts,
  readCounts,
  sumCounts,
  writeCounts,
  type ReplicaCounts,
} from './replica-map.ts';
import { intCodec } from './ts-value.ts';
import { Handle } from './handle.ts';

/** A grow-only counter. */
export interface GCounter {
  increment(n?: number): void;
  readonly value: number;
}

/** A counter that goes both ways. */
export interface PNCounter extends GCounter {
  decrement(n?: number): void;
}

/** GCounter state: each replica's own increments. A delta is the incrementing replica's new total. */
export type GCounterState = ReplicaCounts;

export const gcounterType: CrdtType<GCounterState> = {
  name: 'gcounter',
  empty: () => new Map(),
  join: joinCounts,
  encode: (w: Writer, s) => writeCounts(w, s),
  decode: (r: Reader) => readCounts(r, 'gcounter'),
};

export class GCounterHandle extends Handle<GCounterState> implements GCounter {
  increment(n = 1): void {
    checkAmount(n, 'GCounter.increment');
    if (n > 0) this.sink.emit(countsAdd(this.state, this.sink.replica, n));
  }

  get value(): number {
    return sumCounts(this.state);
  }
}

/** PNCounter state: increments and decrements as two grow-only counters. */
export interface PNCounterState {
  readonly p: ReplicaCounts;
  readonly n: ReplicaCounts;
}

export const pncounterType: CrdtType<PNCounterState> = {
  name: 'pncounter',
  empty: () => ({ p: new Map(), n: new Map() }),
  join(state, delta) {
    const p = joinCounts(state.p, delta.p);
    return joinCounts(state.n, delta.n) || p;
  },
  encode(w: Writer, s) {
    writeCounts(w, s.p);
    writeCounts(w, s.n);
  },
  decode(r: Reader) {
    const p = readCounts(r, 'pncounter increments');
    return { p, n: readCounts(r, 'pncounter decrements') };
  },
};

export class PNCounterHandle extends Handle<PNCounterState> implements PNCounter {
  increment(n = 1): void {
    checkAmount(n, 'PNCounter.increment');
    if (n > 0) this.sink.emit({ p: countsAdd(this.state.p, this.sink.replica, n), n: new Map() });
  }

  decrement(n = 1): void {
    checkAmount(n, 'PNCounter.decrement');
    if (n > 0) this.sink.emit({ p: new Map(), n: countsAdd(this.state.n, this.sink.replica, n) });
  }

  get value(): number {
    return sumCounts(this.state.p) - sumCounts(this.state.n);
  }
}

/**
 * The counter as an ORMap value (the paper's causal counter): each replica's
 * contribution sits under its latest dot, so removing the key removes the
 * contributions it observed, and a concurrent increment survives with its
 * replica's running total.
 */
export type CausalCounterState = Causal<DotFun<number>>;

export const causalCounterKind = funKind(intCodec);

export class CausalCounter extends Handle<CausalCounterState> implements PNCounter {
  private readonly grow: boolean;

  /** `grow`: only increments allowed (a GCounter value). */
  constructor(state: CausalCounterState, sink: MutationSink<CausalCounterState>, grow: boolean) {
    super(state, sink);
    this.grow = grow;
  }

  increment(n = 1): void {
    checkAmount(n, 'counter.increment');
    if (n > 0) this.add(n);
  }

  decrement(n = 1): void {
    if (this.grow) throw new InvalidArgumentError('GCounter cannot decrement');
    checkAmount(n, 'counter.decrement');
    if (n > 0) this.add(-n);
  }

  get value(): number {
    let sum = 0;
    for (const e of this.state.store.entries) sum += e.value;
    return sum;
  }

  private add(n: number): void {
    const replica = this.sink.replica;
    let own = 0;
    // Replace only this replica's entries: the others stay, and stay out of the delta's context.
    const mine = { store: new DotFun<number>(), ctx: this.state.ctx };
    for (const e of this.state.store.entries) {
      if (e.replica !== replica) continue;
      own += e.value;
      mine.store.entries.push(e);
    }
    this.sink.emit(funWrite(mine, replica, own + n));
  }
}
