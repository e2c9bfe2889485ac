import type { Observable, ReplicaId, Value } from '@meshwork/core';

/** The record collections the coordinator keeps in shared state. */
/** Every kind of record, in the order restored state is replayed: agents and workflows before the tasks that refer to them. */
export const recordKinds = [
  'agent',
  'workflow',
  'task',
  'claim',
  'lease',
  'start',
  'end',
  'expiry',
  'cancel',
  'timeout',
  'progress',
  'receipt',
] as const;

export type RecordKind = (typeof recordKinds)[number];

export interface RecordChange {
  readonly kind: RecordKind;
  readonly key: string;
}

export interface StoredValue {
  readonly value: Value;
  readonly writer: ReplicaId;
}

export interface RecordWrite extends RecordChange {
  readonly value: Value;
}

/**
 * What changed: the records named, or `'all'` when any record may have changed or gone
 * (a snapshot was merged), so the reader reloads everything.
 */
export type StoreChanges = readonly RecordChange[] | 'all';

/**
 * The order in which a store has taken in each replica's transactions (the seq of a transaction is
 * its place among its writer's). Stores over a Document have it; a store without it leaves the
 * coordinator's starts to the settle window's timing alone (see receipts.ts).
 */
export interface WriteOrder {
  /** Every transaction of `replica` with a seq up to the result is here. */
  contiguous(replica: ReplicaId): number;
  /** The highest seq of `replica` here, with gaps below it or not (this replica's: its latest transaction). */
  highest(replica: ReplicaId): number;
}

/**
 * The coordinator's view of shared, replicated state: collections of records keyed by
 * strings, each key last-writer-wins. Every key has one writer or writers that agree
 * (claims are keyed by agent, leases by epoch winner, task ids are unique or derived),
 * so LWW never has to arbitrate a real conflict. Records are removed once their task is
 * finished and retained long enough (see the coordinator's `retention`). Implemented over
 * a Document's ORMaps for the mesh, or in memory for one process and the simulation.
 */
/**
 * A store's events: `change` after local writes and removals and after merged remote changes, with
 * the records that changed. A listener that throws ends that emit and the error reaches the write
 * or merge that caused it (a Document store: the Document's own rule).
 */
export interface StoreEvents {
  change: (changes: StoreChanges, local: boolean) => void;
}

export interface CoordinationStore extends Observable<StoreEvents> {
  readonly replica: ReplicaId;
  /** The record's current value and the replica that wrote it (a record's node or author is its writer). */
  read(kind: RecordKind, key: string): StoredValue | undefined;
  entries(kind: RecordKind): Iterable<readonly [string, Value]>;
  /** Writes records as one transaction (one event on the mesh). */
  write(records: readonly RecordWrite[]): void;
  /** Removes records as one transaction; removing an absent record does nothing. */
  remove(records: readonly RecordChange[]): void;
  /** Runs `fn` as one transaction, so its writes and those of other members of the same Document form one event. */
  transact?(fn: () => void): void;
  readonly order?: WriteOrder;
}
