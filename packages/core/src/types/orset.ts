import { CausalContext } from '../causal/causal-context.ts';
import { causalType, removeKeys, type Causal } from '../causal/causal-state.ts';
import { DotSet } from '../causal/dot-set.ts';
import { collectStoredDots, DotMap, singleDot } from '../causal/dot-store.ts';
import { mapKind, setKind } from '../causal/store-kind.ts';
import type { Value } from '../codec/value.ts';
import type { ReplicaId } from '../replica.ts';
import { checkRoom, checkString, checkValue } from './check.ts';
import { checkElementKey, elementKey, elementValue } from './element-key.ts';
import { Handle } from './handle.ts';

/** ORSet state: element key → the dots of the adds that keep it present. */
export type ORSetState = Causal<DotMap<DotSet>>;

export const orsetKind = mapKind(setKind, checkElementKey);
export const orsetType = causalType<DotMap<DotSet>>('orset', orsetKind);

/**
 * The delta adding element `key` with a fresh dot, replacing the dots it had (they are
 * now observed): the new dot, with the old ones in its context so receivers drop them too.
 */
function orsetAdd(state: ORSetState, replica: ReplicaId, key: string): ORSetState {
  const seq = state.ctx.nextSeq(replica);
  const ctx = new CausalContext();
  ctx.add(replica, seq);
  const old = state.store.entries.get(key);
  if (old !== undefined) collectStoredDots(old, ctx);
  const store = new DotMap<DotSet>(true);
  store.entries.set(key, singleDot(replica, seq));
  return { store, ctx };
}

/** Add-wins observed-remove set. Removes leave no tombstone, only causal context. */
export class ORSet<V extends Value = Value> extends Handle<ORSetState> {
  add(v: V): void {
    checkValue(v, 'ORSet.add', this.sink.limits);
    const key = elementKey(v);
    // A non-string element travels as a key of its encoding, up to twice its size as UTF-8.
    checkString(key, 'ORSet.add element key', this.sink.limits);
    const entries = this.state.store.entries;
    if (!entries.has(key)) checkRoom(entries.size, 'ORSet.add', this.sink.limits);
    this.sink.emit(orsetAdd(this.state, this.sink.replica, key));
  }

  remove(v: V): void {
    checkValue(v, 'ORSet.remove', this.sink.limits);
    // The delta holds no dot, only the observed ones in its context.
    const delta = removeKeys(this.state, [elementKey(v)], setKind);
    if (delta !== undefined) this.sink.emit(delta);
  }

  has(v: V): boolean {
    checkValue(v, 'ORSet.has', this.sink.limits);
    return this.state.store.entries.has(elementKey(v));
  }

  values(): V[] {
    const out: V[] = [];
    for (const key of this.state.store.entries.keys()) out.push(elementValue(key) as V);
    return out;
  }

  get size(): number {
    return this.state.store.entries.size;
  }
}
