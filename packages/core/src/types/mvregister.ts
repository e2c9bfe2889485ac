import { CausalContext } from '../causal/causal-context.ts';
import { causalType, type Causal } from '../causal/causal-state.ts';
import { DotFun } from '../causal/dot-store.ts';
import { funKind } from '../causal/store-kind.ts';
import type { Value } from '../codec/value.ts';
import type { ReplicaId } from '../replica.ts';
import { checkValue } from './check.ts';
import { valueCodec } from './ts-value.ts';
import { Handle } from './handle.ts';

/** MVRegister state: one value per surviving write dot. */
export type MVRegisterState = Causal<DotFun<Value>>;

export const mvregisterKind = funKind(valueCodec);
export const mvregisterType = causalType<DotFun<Value>>('mvregister', mvregisterKind);

/**
 * The delta writing `value` under a fresh dot (`seq`), superseding every write seen (their
 * dots go into the delta's context). Concurrent writes all survive.
 */
export function funWrite<V>(
  state: Causal<DotFun<V>>,
  replica: ReplicaId,
  value: V,
  seq = state.ctx.nextSeq(replica),
): Causal<DotFun<V>> {
  const ctx = new CausalContext();
  ctx.add(replica, seq);
  for (const e of state.store.entries) ctx.add(e.replica, e.seq);
  const entry = { replica, seq, value };
  const store = new DotFun<V>();
  store.entries.push(entry);
  return { store, ctx };
}

/** Multi-value register: a read returns every value written concurrently and not yet overwritten. */
export class MVRegister<V extends Value = Value> extends Handle<MVRegisterState> {
  set(v: V): void {
    checkValue(v, 'MVRegister.set', this.sink.limits);
    this.sink.emit(funWrite<Value>(this.state, this.sink.replica, v));
  }

  /** Concurrent values, ordered by the dot that wrote them (replica, then seq). */
  values(): V[] {
    return this.writes().map((w) => w.value);
  }

  /** The concurrent writes with the replica that made each, in the order of `values()`. */
  writes(): { value: V; replica: ReplicaId }[] {
    return [...this.state.store.entries]
      .sort((a, b) => (a.replica !== b.replica ? (a.replica < b.replica ? -1 : 1) : a.seq - b.seq))
      .map((e) => ({ value: e.value as V, replica: e.replica }));
  }
}
