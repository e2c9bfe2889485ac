import type { CausalContext } from './causal-context.ts';
import type { Dot } from './dot.ts';
import { DotFun, DotMap, isEmptyStore, load, save, type DotStore, type FunEntry } from './dot-store.ts';
import { DotSet } from './dot-set.ts';
import { packedReplica, packedSeq } from './packed-dot.ts';
import { emptyStore, type StoreKind } from './store-kind.ts';

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
