import { DecodeError } from '../codec/decode-error.ts';
import type { Reader } from '../codec/reader.ts';
import type { Writer } from '../codec/writer.ts';
import type { ReplicaId } from '../replica.ts';
import type { CausalContext } from './causal-context.ts';
import { compareDots, MAX_SEQ, type Dot } from './dot.ts';

/**
 * Dot stores (Almeida, Shoker & Baquero 2018, §6). Paired with a causal
 * context they form causal CRDTs; `joinStore` is the paper's causal join,
 * shared by every type built on them (ORSet, MVRegister, ORMap, Graph, ...).
 */
export type DotStore = DotSet | DotFun<unknown> | DotMap<DotStore>;

/**
 * A set of dots: "this key is present because of these events". Nearly
 * always one dot, so the first is held inline (no Dot object, no array);
 * further dots go to `rest`.
 */
export class DotSet {
  private first: ReplicaId | undefined;
  private firstSeq: number;
  private rest: Dot[] | undefined;

  constructor(dots?: readonly Dot[]) {
    this.first = undefined;
    this.firstSeq = 0;
    this.rest = undefined;
    if (dots !== undefined) for (const d of dots) this.add(d.replica, d.seq);
  }

  static of(replica: ReplicaId, seq: number): DotSet {
    const s = new DotSet();
    s.first = replica;
    s.firstSeq = seq;
    return s;
  }

  get size(): number {
    return this.first === undefined ? 0 : 1 + (this.rest?.length ?? 0);
  }

  has(replica: ReplicaId, seq: number): boolean {
    if (this.first === undefined) return false;
    if (this.firstSeq === seq && this.first === replica) return true;
    if (this.rest !== undefined)
      for (const d of this.rest) if (d.seq === seq && d.replica === replica) return true;
    return false;
  }

  /** Adds a dot the set does not hold. */
  add(replica: ReplicaId, seq: number): void {
    if (this.first === undefined) {
      this.first = replica;
      this.firstSeq = seq;
    } else {
      (this.rest ??= []).push({ replica, seq });
    }
  }

  clear(): void {
    this.first = undefined;
    this.firstSeq = 0;
    this.rest = undefined;
  }

  /**
   * The lone dot packed (see {@link PackedDot}); undefined unless exactly one dot that packs.
   * With `allocate` false, only a replica that already has a slot packs.
   */
  packed(allocate = true): PackedDot | undefined {
    return this.first !== undefined && this.rest === undefined
      ? pack(this.first, this.firstSeq, allocate)
      : undefined;
  }

  /** The dots, as a new array. */
  get dots(): Dot[] {
    if (this.first === undefined) return [];
    const out: Dot[] = [{ replica: this.first, seq: this.firstSeq }];
    if (this.rest !== undefined) out.push(...this.rest);
    return out;
  }

  /** Adds every dot to `ctx`. */
  addTo(ctx: CausalContext): void {
    if (this.first === undefined) return;
    ctx.add(this.first, this.firstSeq);
    if (this.rest !== undefined) for (const d of this.rest) ctx.add(d.replica, d.seq);
  }

  /**
   * The causal join of DotSets, in place: drops dots `dc` has seen that `d`
   * no longer holds, takes dots of `d` that `sc` has not seen.
   */
  joinFrom(sc: CausalContext, d: DotSet, dc: CausalContext): boolean {
    if (this.rest === undefined && d.rest === undefined) {
      // One dot or none on each side: the common case, without allocating.
      const mine = this.first;
      const theirs = d.first;
      const same = mine !== undefined && mine === theirs && this.firstSeq === d.firstSeq;
      if (same) return false;
      let changed = false;
      if (mine !== undefined && dc.has(mine, this.firstSeq)) {
        this.clear();
        changed = true;
      }
      if (theirs !== undefined && !sc.has(theirs, d.firstSeq)) {
        this.add(theirs, d.firstSeq);
        changed = true;
      }
      return changed;
    }
    const before = this.dots;
    const keep = before.filter((x) => !dc.has(x.replica, x.seq) || d.has(x.replica, x.seq));
    let changed = keep.length !== before.length;
    for (const x of d.dots) {
      if (!sc.has(x.replica, x.seq) && !this.has(x.replica, x.seq)) {
        keep.push(x);
        changed = true;
      }
    }
    if (changed) {
      this.clear();
      for (const x of keep) this.add(x.replica, x.seq);
    }
    return changed;
  }
}

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

/** One dot as `slot * 2^25 + seq`, within V8's small-integer range; slots intern replica ids process-wide. */
export type PackedDot = number;

const SEQ_SPAN = 2 ** 25;
const SLOTS = 64;
const slotOf = new Map<ReplicaId, number>();
const slotReplica: ReplicaId[] = [];

/**
 * Slots are taken only by dots that enter a live state (`allocate`), never while decoding: a
 * message that is then refused must not use up the process-wide slots.
 */
function pack(replica: ReplicaId, seq: number, allocate: boolean): PackedDot | undefined {
  if (seq >= SEQ_SPAN) return undefined;
  let slot = slotOf.get(replica);
  if (slot === undefined) {
    if (!allocate || slotReplica.length >= SLOTS) return undefined;
    slot = slotReplica.length;
    slotOf.set(replica, slot);
    slotReplica.push(replica);
  }
  return slot * SEQ_SPAN + seq;
}

function packedReplica(p: PackedDot): ReplicaId {
  return slotReplica[Math.floor(p / SEQ_SPAN)] as ReplicaId;
}

function packedSeq(p: PackedDot): number {
  return p % SEQ_SPAN;
}

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

/** Replica ids holding a packed-dot slot in this process (for tests of what takes one). */
export function packedSlots(): number {
  return slotReplica.length;
}

/** Encodes the values of a {@link DotFun}. */
export interface ValueCodec<V> {
  write(w: Writer, v: V): void;
  read(r: Reader): V;
}

/** The shape of a dot store, needed to create, decode and join nested stores. */
export type StoreKind =
  | { readonly store: 'set' }
  | { readonly store: 'fun'; readonly value: ValueCodec<unknown> }
  | { readonly store: 'map'; readonly value: StoreKind; readonly checkKey?: (key: string) => void };

export const setKind: StoreKind = Object.freeze({ store: 'set' });

export function funKind<V>(value: ValueCodec<V>): StoreKind {
  return { store: 'fun', value: value };
}

/** `checkKey` validates decoded keys (throwing DecodeError), for keys that encode data. */
export function mapKind(value: StoreKind, checkKey?: (key: string) => void): StoreKind {
  return checkKey === undefined ? { store: 'map', value } : { store: 'map', value, checkKey };
}

export function emptyStore(kind: StoreKind, partial = false): DotStore {
  switch (kind.store) {
    case 'set':
      return new DotSet();
    case 'fun':
      return new DotFun();
    case 'map':
      return new DotMap(partial);
  }
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

/**
 * The causal join, in place: `s` (with context `sc`) becomes the join of
 * itself and `d` (with context `dc`). A dot survives when both sides hold it,
 * or one side holds it and the other's context has not seen it (so it cannot
 * have been removed there). Maps join key by key and drop keys left empty.
 * `sc` must still be the context from before the join: callers join contexts
 * afterwards. Returns true when `s` changed.
 */
export function joinStore(
  kind: StoreKind,
  s: DotStore,
  sc: CausalContext,
  d: DotStore,
  dc: CausalContext,
): boolean {
  switch (kind.store) {
    case 'set':
      return (s as DotSet).joinFrom(sc, d as DotSet, dc);
    case 'fun':
      return joinDotFun(s as DotFun<unknown>, sc, d as DotFun<unknown>, dc);
    case 'map':
      return joinDotMap(kind.value, s as DotMap<DotStore>, sc, d as DotMap<DotStore>, dc);
  }
}

function holdsDot(dots: readonly Dot[], dot: Dot): boolean {
  for (const x of dots) if (x.seq === dot.seq && x.replica === dot.replica) return true;
  return false;
}

function joinDotFun(s: DotFun<unknown>, sc: CausalContext, d: DotFun<unknown>, dc: CausalContext): boolean {
  const mine = s.entries;
  const theirs = d.entries;
  let changed = false;
  for (let i = mine.length - 1; i >= 0; i--) {
    const e = mine[i] as FunEntry<unknown>;
    if (dc.has(e.replica, e.seq) && !holdsDot(theirs, e)) {
      mine.splice(i, 1);
      changed = true;
    }
  }
  for (const e of theirs) {
    if (!sc.has(e.replica, e.seq) && !holdsDot(mine, e)) {
      mine.push(e);
      changed = true;
    }
  }
  return changed;
}

function joinDotMap(
  valueKind: StoreKind,
  s: DotMap<DotStore>,
  sc: CausalContext,
  d: DotMap<DotStore>,
  dc: CausalContext,
): boolean {
  const partial = s.partial && d.partial;
  let changed = s.partial !== partial;
  s.partial = partial;
  if (!d.partial) {
    // `d` may cover dots under any key: visit the keys only `s` has.
    const none = emptyStore(valueKind);
    for (const [key, stored] of s.entries) {
      if (d.entries.has(key)) continue;
      if (typeof stored === 'number') {
        // A lone packed dot: it goes when `d` has seen it.
        if (dc.has(packedReplica(stored), packedSeq(stored))) {
          if (partial) s.entries.set(key, new DotSet());
          else s.entries.delete(key);
          changed = true;
        }
        continue;
      }
      if (joinStore(valueKind, stored, sc, none, dc)) changed = true;
      if (!partial && isEmptyStore(stored)) {
        s.entries.delete(key);
        changed = true;
      } else if (stored instanceof DotSet) {
        const packed = stored.packed();
        if (packed !== undefined) s.entries.set(key, packed);
      }
    }
  }
  const packedSets = valueKind.store === 'set' && !partial;
  for (const [key, theirs] of d.entries) {
    const stored = s.entries.get(key);
    if (typeof stored === 'number' && stored === theirs) continue;
    if (packedSets && typeof stored !== 'object' && (typeof theirs === 'number' || isEmptyStore(theirs))) {
      // At most one packed dot on each side (a set element and an add or remove
      // delta): the DotSet join without unpacking. Two surviving dots take the general path.
      const keep = stored !== undefined && !dc.has(packedReplica(stored), packedSeq(stored));
      const take = typeof theirs === 'number' && !sc.has(packedReplica(theirs), packedSeq(theirs));
      if (!(keep && take)) {
        if (take) s.entries.set(key, theirs);
        else if (!keep && stored !== undefined) s.entries.delete(key);
        else continue; // mine stays, or neither side has a dot
        changed = true;
        continue;
      }
    }
    const fresh = stored === undefined;
    const child = stored === undefined ? emptyStore(valueKind, partial) : load(stored);
    if (joinStore(valueKind, child, sc, load(theirs), dc)) changed = true;
    if (isEmptyStore(child) && !partial) {
      if (!fresh) {
        s.entries.delete(key);
        changed = true;
      }
    } else if (fresh || typeof stored === 'number' || child instanceof DotSet) {
      s.entries.set(key, save(child));
      changed ||= fresh;
    }
  }
  return changed;
}

/** Deterministic encoding: dots sorted by replica then seq, map keys sorted. */
export function encodeStore(kind: StoreKind, w: Writer, s: DotStore): void {
  switch (kind.store) {
    case 'set':
      return writeDots(w, (s as DotSet).dots);
    case 'fun': {
      const entries = sortedByDot((s as DotFun<unknown>).entries);
      writeDots(w, entries);
      for (const e of entries) kind.value.write(w, e.value);
      return;
    }
    case 'map': {
      const map = s as DotMap<DotStore>;
      // A delta usually lists one key: nothing to sort.
      const keys = map.entries.size === 1 ? map.entries.keys() : [...map.entries.keys()].sort();
      // One varint for the size and the partial flag.
      w.uint(map.entries.size * 2 + (map.partial ? 1 : 0));
      for (const key of keys) {
        w.string(key);
        const child = map.entries.get(key) as Stored<DotStore>;
        if (typeof child === 'number') {
          // A packed lone dot, written as a one-dot set without unpacking it.
          w.uint(1);
          w.replica(packedReplica(child));
          w.uint(packedSeq(child) - 1);
        } else {
          encodeStore(kind.value, w, child);
        }
      }
      return;
    }
  }
}

export function decodeStore(kind: StoreKind, r: Reader): DotStore {
  switch (kind.store) {
    case 'set':
      return new DotSet(readDots(r));
    case 'fun': {
      const s = new DotFun<unknown>();
      for (const dot of readDots(r))
        s.entries.push({ replica: dot.replica, seq: dot.seq, value: kind.value.read(r) });
      return s;
    }
    case 'map':
      return r.nested('dot map', () => {
        const header = r.uint('dot map header');
        const map = new DotMap<DotStore>(header % 2 === 1);
        const n = Math.floor(header / 2);
        if (n > r.limits.maxEntries) throw new DecodeError('too_large', `dot map: ${n} entries`);
        if (n * 2 > r.remaining) throw new DecodeError('truncated', `dot map: ${n} entries do not fit`);
        let last: string | undefined;
        for (let i = 0; i < n; i++) {
          const key = r.string('dot map key');
          if (last !== undefined && key <= last) throw new DecodeError('invalid', 'dot map: keys not sorted');
          last = key;
          kind.checkKey?.(key);
          // Set children are read straight into their stored form (a lone dot packed).
          const child = kind.value.store === 'set' ? readStoredDotSet(r) : decodeStore(kind.value, r);
          if (
            !map.partial &&
            typeof child !== 'number' &&
            (isEmptyStore(child) || (child instanceof DotMap && child.partial))
          ) {
            throw new DecodeError('invalid', 'dot map: a full state holds an empty or partial entry');
          }
          map.entries.set(key, typeof child === 'number' ? child : save(child, false));
        }
        return map;
      });
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

function sortedByDot<T extends Dot>(dots: readonly T[]): T[] {
  return [...dots].sort(compareDots);
}

/**
 * Dots sorted by replica then seq: the count, then per dot its replica (an
 * interned index) and its seq as the gap from the previous seq of the same
 * replica. A lone dot costs about four bytes.
 */
function writeDots(w: Writer, dots: readonly Dot[]): void {
  const sorted = dots.length > 1 ? sortedByDot(dots) : dots;
  w.uint(sorted.length);
  let replica: ReplicaId | undefined;
  let prev = 0;
  for (const dot of sorted) {
    if (dot.replica !== replica) {
      replica = dot.replica;
      prev = 0;
    }
    w.replica(dot.replica);
    w.uint(dot.seq - prev - 1);
    prev = dot.seq;
  }
}

/** A DotSet as a map child: a lone dot (the usual case) packed without building a DotSet. */
function readStoredDotSet(r: Reader): DotSet | PackedDot {
  const n = r.count('dots', 2);
  if (n !== 1) return new DotSet(readDotsAfterCount(r, n));
  const replica = r.replica('dot replica');
  const seq = 1 + r.uint('dot seq gap');
  if (seq > MAX_SEQ) throw new DecodeError('invalid', 'dots: seq too large');
  return pack(replica, seq, false) ?? DotSet.of(replica, seq);
}

function readDots(r: Reader): Dot[] {
  return readDotsAfterCount(r, r.count('dots', 2));
}

function readDotsAfterCount(r: Reader, n: number): Dot[] {
  const out: Dot[] = [];
  let last: ReplicaId | undefined;
  let prev = 0;
  for (let i = 0; i < n; i++) {
    const replica = r.replica('dot replica');
    if (replica !== last) {
      if (last !== undefined && replica < last) throw new DecodeError('invalid', 'dots: replicas not sorted');
      last = replica;
      prev = 0;
    }
    const seq = prev + 1 + r.uint('dot seq gap');
    if (seq > MAX_SEQ) throw new DecodeError('invalid', 'dots: seq too large');
    out.push({ replica, seq });
    prev = seq;
  }
  return out;
}
