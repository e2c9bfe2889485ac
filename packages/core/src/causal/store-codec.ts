import { DecodeError } from '../codec/decode-error.ts';
import type { Reader } from '../codec/reader.ts';
import type { Writer } from '../codec/writer.ts';
import type { ReplicaId } from '../replica.ts';
import { compareDots, MAX_SEQ, type Dot } from './dot.ts';
import { DotFun, DotMap, isEmptyStore, save, type DotStore, type Stored } from './dot-store.ts';
import { DotSet } from './dot-set.ts';
import { pack, packedReplica, packedSeq, type PackedDot } from './packed-dot.ts';
import type { StoreKind } from './store-kind.ts';

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
