import { Emitter, type Observable, type ReplicaId } from '@meshwork/core';
import { hash53 } from './hash.ts';
import type { Clock } from './clock.ts';
import type { Value } from '@meshwork/core';
import type { CoordinationStore, RecordChange, RecordKind, StoreEvents } from './store.ts';

/** Orders writes of one key: time, then replica, then that replica's sequence number. */
export interface Stamp {
  readonly at: number;
  readonly replica: ReplicaId;
  readonly seq: number;
}

export interface StoredRecord extends RecordChange {
  /** Undefined for a removal: a tombstone, kept so that an older write arriving later stays removed. */
  readonly value: Value | undefined;
  readonly stamp: Stamp;
}

/** A batch of records: a local transaction's delta, or the full state for anti-entropy. */
export type StoreDelta = readonly StoredRecord[];

/**
 * An in-memory CoordinationStore: a state-based LWW map (a join-semilattice, so deltas
 * merge in any order, any number of times). Peers exchange the deltas of its `delta` event
 * and, to heal losses, compare `digest()`s and send `state()`. A removal is a tombstone
 * (a few dozen bytes per removed record, never dropped): this store is for one process,
 * tests and the simulation, not for meshes that run for months.
 */
/** A memory store's events: the store's `change`, and `delta` with each local transaction's delta. */
export interface MemoryStoreEvents extends StoreEvents {
  delta: (delta: StoreDelta) => void;
}

export interface MemoryStore
  extends Omit<CoordinationStore, 'on' | 'once' | 'off'>, Observable<MemoryStoreEvents> {
  /** Joins a delta or state; returns how many records were new. */
  merge(delta: StoreDelta): number;
  state(): StoreDelta;
  /** Order-independent fingerprint of the state; equal digests mean equal states (up to hash collisions). */
  digest(): string;
}

function newer(a: Stamp, b: Stamp): boolean {
  if (a.at !== b.at) return a.at > b.at;
  if (a.replica !== b.replica) return a.replica > b.replica;
  return a.seq > b.seq;
}

function recordHash(r: StoredRecord): number {
  return (
    hash53(`${r.kind}\u0000${r.key}\u0000${r.stamp.at}\u0000${r.stamp.replica}\u0000${r.stamp.seq}`) % 2 ** 32
  );
}

export function createMemoryStore(replica: ReplicaId, clock: Pick<Clock, 'now'>): MemoryStore {
  const kinds = new Map<RecordKind, Map<string, StoredRecord>>();
  const events = new Emitter<MemoryStoreEvents>();
  let seq = 0;
  let lastAt = 0;
  let sumA = 0;
  let count = 0;

  const table = (kind: RecordKind): Map<string, StoredRecord> => {
    let t = kinds.get(kind);
    if (t === undefined) kinds.set(kind, (t = new Map<string, StoredRecord>()));
    return t;
  };

  const put = (r: StoredRecord): boolean => {
    const t = table(r.kind);
    const old = t.get(r.key);
    if (old !== undefined && !newer(r.stamp, old.stamp)) return false;
    if (old !== undefined) sumA = (sumA - recordHash(old) + 2 ** 32) % 2 ** 32;
    else count++;
    sumA = (sumA + recordHash(r)) % 2 ** 32;
    t.set(r.key, r);
    return true;
  };

  const notify = (changes: RecordChange[], local: boolean): void => {
    if (changes.length === 0) return;
    events.emit('change', [changes, local]);
  };

  /** Stamps and applies local writes (a value) and removals (undefined) as one delta. */
  const local = (records: readonly (RecordChange & { readonly value: Value | undefined })[]): void => {
    if (records.length === 0) return;
    lastAt = Math.max(lastAt, clock.now());
    const delta = records.map((w) => ({
      kind: w.kind,
      key: w.key,
      value: w.value,
      stamp: { at: lastAt, replica, seq: ++seq },
    }));
    for (const r of delta) put(r);
    events.emit('delta', [delta]);
    notify(
      delta.map((r) => ({ kind: r.kind, key: r.key })),
      true,
    );
  };

  return {
    replica,
    read(kind, key) {
      const r = kinds.get(kind)?.get(key);
      return r?.value === undefined ? undefined : { value: r.value, writer: r.stamp.replica };
    },
    *entries(kind) {
      for (const [k, r] of table(kind)) if (r.value !== undefined) yield [k, r.value] as const;
    },
    write: local,
    remove(records) {
      local(
        records
          .filter((r) => kinds.get(r.kind)?.get(r.key)?.value !== undefined)
          .map((r) => ({ ...r, value: undefined })),
      );
    },
    ...events.observable(),
    merge(delta) {
      const changed: RecordChange[] = [];
      for (const r of delta) {
        if (put(r)) {
          changed.push({ kind: r.kind, key: r.key });
          lastAt = Math.max(lastAt, r.stamp.at);
        }
      }
      notify(changed, false);
      return changed.length;
    },
    state() {
      const out: StoredRecord[] = [];
      for (const t of kinds.values()) out.push(...t.values());
      return out;
    },
    digest: () => `${count}:${sumA}`,
  };
}
