import type { Reader } from '../codec/reader.ts';
import type { Writer } from '../codec/writer.ts';
import { causalType, type Causal } from '../causal/causal-state.ts';
import { DotFun, funKind } from '../causal/dot-store.ts';
import type { CrdtType } from '../crdt-type.ts';
import type { ReplicaId } from '../replica.ts';
import { checkAmount } from './check.ts';
import { InvalidArgumentError } from './errors.ts';
import { funWrite } from './mvregister.ts';
import type { MutationSink } from './mutation-sink.ts';
import { joinCounts, readCounts, sumCounts, writeCounts, type ReplicaCounts } from './replica-map.ts';
import { intCodec } from './ts-value.ts';

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

export function countsAdd(state: ReplicaCounts, replica: ReplicaId, n: number): ReplicaCounts {
  const total = (state.get(replica) ?? 0) + n;
  state.set(replica, total);
  return new Map([[replica, total]]);
}

export class GCounterHandle implements GCounter {
  private readonly state: GCounterState;
  private readonly sink: MutationSink<GCounterState>;

  constructor(state: GCounterState, sink: MutationSink<GCounterState>) {
    this.state = state;
    this.sink = sink;
  }

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

export class PNCounterHandle implements PNCounter {
  private readonly state: PNCounterState;
  private readonly sink: MutationSink<PNCounterState>;

  constructor(state: PNCounterState, sink: MutationSink<PNCounterState>) {
    this.state = state;
    this.sink = sink;
  }

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
export const causalCounterType = causalType<DotFun<number>>('counter', causalCounterKind);

export class CausalCounter implements PNCounter {
  private readonly state: CausalCounterState;
  private readonly sink: MutationSink<CausalCounterState>;
  private readonly grow: boolean;

  /** `grow`: only increments allowed (a GCounter value). */
  constructor(state: CausalCounterState, sink: MutationSink<CausalCounterState>, grow: boolean) {
    this.state = state;
    this.sink = sink;
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
    const entries = this.state.store.entries;
    let own = 0;
    const others = [];
    for (const e of entries) {
      if (e.replica === replica) own += e.value;
      else others.push(e);
    }
    // Replace only this replica's entries: the others stay, and stay out of the delta's context.
    const mine = { store: new DotFun<number>(), ctx: this.state.ctx };
    for (const e of entries) if (e.replica === replica) mine.store.entries.push(e);
    const delta = funWrite(mine, replica, own + n);
    entries.length = 0;
    entries.push(...others, ...mine.store.entries);
    this.sink.emit(delta);
  }
}
