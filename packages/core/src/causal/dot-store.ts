import { DecodeError } from '../codec/decode-error.ts';
import type { ReplicaId } from '../replica.ts';
import type { CausalContext } from './causal-context.ts';
import type { Dot } from './dot.ts';
import { DotSet } from './dot-set.ts';
import { pack, packedReplica, packedSeq, type PackedDot } from './packed-dot.ts';

/**
 * Dot stores (Almeida, Shoker & Baquero 2018, §6). Paired with a causal
 * context they form causal CRDTs; `joinStore` is the paper's causal join,
 * shared by every type built on them (ORSet, MVRegister, ORMap, Graph, ...).
 */
export type DotStore = DotSet | DotFun<unknown> | DotMap<DotStore>;

/** One value per dot. Values are immutable: a dot names the write that made it. */
export interface FunEntry<V> {
  readonly replica: ReplicaId;
  readonly seq: number;
  readonly value: V;
}

export class DotFun<V> {
  readonly entries: FunEntry<V>[] = [];
}

/**
 * Keys to nested dot stores. A `partial` map (a delta) promises that its
 * context covers dots only under the keys it lists, so joining it visits just
 * those keys instead of the whole state; a listed key may then hold an empty
 * store, recording "everything observed under this key was removed". Full
 * states are never partial and never hold empty stores.
 */
export class DotMap<S extends DotStore> {
  readonly entries = new Map<string, Stored<S>>();
  partial: boolean;

  constructor(partial = false) {
    this.partial = partial;
  }
}

/**
 * How a map holds a child: a DotSet of exactly one dot is stored as a
 * {@link PackedDot}, a small integer, so a set element costs a map entry and
 * no object at all.
 */
export type Stored<S extends DotStore> = S extends DotSet ? DotSet | PackedDot : S;

/** A one-dot set, packed when it can be. */
export function singleDot(replica: ReplicaId, seq: number): DotSet | PackedDot {
  return pack(replica, seq, true) ?? DotSet.of(replica, seq);
}

/** A map child as a store (unpacking a packed dot into a new DotSet). */
export function load<S extends DotStore>(v: Stored<S>): S {
  return (typeof v === 'number' ? DotSet.of(packedReplica(v), packedSeq(v)) : v) as S;
}

/** A store as a map child (packing a one-dot DotSet; see {@link pack} for `allocate`). */
export function save<S extends DotStore>(s: S, allocate = true): Stored<S> {
  return (s instanceof DotSet ? (s.packed(allocate) ?? s) : s) as Stored<S>;
}

/** True when the store holds no dot. */
export function isEmptyStore(s: DotStore): boolean {
  if (s instanceof DotSet) return s.size === 0;
  if (s instanceof DotFun) return s.entries.length === 0;
  if (!s.partial) return s.entries.size === 0;
  for (const child of s.entries.values()) if (typeof child !== 'number' && !isEmptyStore(child)) return false;
  return true;
}

/** Number of dots held. */
export function countDots(s: DotStore): number {
  if (s instanceof DotSet) return s.size;
  if (s instanceof DotFun) return s.entries.length;
  let n = 0;
  for (const child of s.entries.values()) n += typeof child === 'number' ? 1 : countDots(child);
  return n;
}

/** Adds every dot of a map child to `into`. */
export function collectStoredDots(v: Stored<DotStore>, into: CausalContext): void {
  if (typeof v === 'number') into.add(packedReplica(v), packedSeq(v));
  else collectDots(v, into);
}

/** Adds every dot in `s` to `into`. */
export function collectDots(s: DotStore, into: CausalContext): void {
  if (s instanceof DotSet) s.addTo(into);
  else if (s instanceof DotFun) for (const e of s.entries) into.add(e.replica, e.seq);
  else {
    for (const child of s.entries.values()) collectStoredDots(child, into);
  }
}

/** Throws DecodeError unless every dot of `s` is in `ctx` (a decoded state must satisfy this). */
export function checkDotsIn(s: DotStore, ctx: CausalContext): void {
  if (s instanceof DotSet) {
    for (const d of s.dots) if (!ctx.has(d.replica, d.seq)) throw notInContext(d);
  } else if (s instanceof DotFun) {
    for (const e of s.entries) if (!ctx.has(e.replica, e.seq)) throw notInContext(e);
  } else {
    for (const child of s.entries.values()) checkDotsIn(load(child), ctx);
  }
}

function notInContext(d: Dot): DecodeError {
  return new DecodeError('invalid', `dot ${d.replica}:${d.seq} is missing from its causal context`);
}
