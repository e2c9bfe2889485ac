import { createDocument, type Document } from '@meshwork/core';
import {
  createDocumentStore,
  createMemoryStore,
  type CoordinationStore,
  type MemoryStore,
  type StoreDelta,
} from '@meshwork/coordinator';

/** What travels between simulated replicas: opaque to the network. */
export type Payload = Uint8Array | StoreDelta | string;

/**
 * One replica's shared state as the simulated network syncs it: the coordinator store on
 * top, and the sync primitives of the layer below (a Document, or the in-memory store).
 */
export interface SyncedState {
  readonly store: CoordinationStore;
  /** The Document below the store, when there is one. */
  readonly document: Document | null;
  onLocal(listener: (msg: Payload) => void): void;
  /** Merges a message; true when it brought anything new. */
  merge(msg: Payload): boolean;
  digest(): Payload;
  /** Messages that bring a peer with `digest` up to date. */
  missing(digest: Payload): Payload[];
  /** Same state, as reloaded from disk after a crash. */
  reload(): SyncedState;
  /** Equal on replicas holding the same state. */
  fingerprint(): string;
}

export type Backend = 'document' | 'memory';

/**
 * `logEvents` bounds a Document's event log: a small log makes anti-entropy fall back to
 * snapshots, which the coordinator must take in whole (any record may have changed or gone).
 */
export function createSyncedState(
  backend: Backend,
  replica: string,
  now: () => number,
  logEvents?: number,
): SyncedState {
  const log = logEvents === undefined ? {} : { log: { maxEvents: logEvents } };
  return backend === 'document'
    ? documentState(createDocument({ replica, name: 'coordination', clock: now, ...log }), now, log)
    : memoryState(createMemoryStore(replica, { now }), now);
}

function memoryState(mem: MemoryStore, now: () => number): SyncedState {
  return {
    store: mem,
    document: null,
    onLocal: (l) => void mem.on('delta', l),
    merge: (msg) => mem.merge(msg as StoreDelta) > 0,
    digest: () => mem.digest(),
    missing: (d) => (d === mem.digest() ? [] : [mem.state()]),
    reload() {
      const fresh = createMemoryStore(mem.replica, { now });
      fresh.merge(mem.state());
      return memoryState(fresh, now);
    },
    fingerprint: () => mem.digest(),
  };
}

function documentState(doc: Document, now: () => number, log: { log?: { maxEvents: number } }): SyncedState {
  const store = createDocumentStore(doc);
  return {
    store,
    document: doc,
    onLocal(listener) {
      doc.on('change', (e) => {
        if (e.local) listener(e.update);
      });
    },
    merge: (msg) => doc.apply(msg as Uint8Array).events > 0,
    digest: () => doc.encodedDigest(),
    missing(d) {
      const since = doc.changesSince(d as Uint8Array);
      return since.covered ? [since.update] : doc.snapshot({ maxChunkBytes: 64 * 1024 });
    },
    reload() {
      const fresh = createDocument({ replica: doc.replica, name: doc.name, clock: now, ...log });
      for (const chunk of doc.snapshot()) fresh.apply(chunk);
      return documentState(fresh, now, log);
    },
    fingerprint: () => Buffer.from(doc.encodedDigest()).toString('base64'),
  };
}
