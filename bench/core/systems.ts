/**
 * The same replica operations on Meshwork and its peers. Each mutation is its
 * own transaction and produces its own delta, as a networked user would send it.
 * Peers emulate the Meshwork types the usual way: an OR-set is a Y.Map / map of
 * key → true, a PN-counter is a per-writer running total in Yjs and a native
 * counter in Automerge and Loro, an LWW register is one map key.
 */
import * as A from '@automerge/automerge';
import { createDocument, type Digest, type Document } from '@meshwork/core';
import { LoroDoc, type VersionVector } from 'loro-crdt';
import * as Y from 'yjs';

export interface BenchReplica {
  add(key: string): void;
  remove(key: string): void;
  increment(): void;
  write(value: string): void;
  /** Deltas this replica produced since the last call (empty when capture is off). */
  drain(): Uint8Array[];
  apply(delta: Uint8Array): void;
  /** Size of the full encoded state (what a new peer would download). */
  stateBytes(): number;
  /** What this replica holds, as it would tell a peer to ask for the rest (digest, state vector, heads, version). */
  version(): unknown;
  /** One message of everything this replica holds that a peer at `version` lacks. */
  changesSince(version: unknown): Uint8Array;
}

export interface BenchSystem {
  readonly name: string;
  /** A fresh replica; `index` distinguishes writers. `capture` keeps each local delta for `drain()`. */
  replica(index: number, capture?: boolean): BenchReplica;
}

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

/** A deterministic string shaped like an Ed25519 libp2p peer id (52 characters), Meshwork's replica id on the mesh. */
export function peerIdLike(index: number): string {
  let x = (index + 1) * 2654435761;
  let s = '12D3KooW';
  while (s.length < 52) {
    x = (x * 1103515245 + 12345) % 2147483648;
    s += BASE58[x % 58];
  }
  return s;
}

export const meshwork: BenchSystem = {
  name: 'meshwork',
  replica(index, capture = true) {
    const doc: Document = createDocument({ replica: peerIdLike(index), name: 'bench' });
    const set = doc.orset<string>('orset');
    const counter = doc.pncounter('counter');
    const register = doc.lww<string>('register');
    let deltas: Uint8Array[] = [];
    if (capture) {
      doc.on('change', (e) => {
        if (e.local) deltas.push(e.update);
      });
    }
    return {
      add: (key) => set.add(key),
      remove: (key) => set.remove(key),
      increment: () => counter.increment(1),
      write: (value) => register.set(value),
      drain() {
        const out = deltas;
        deltas = [];
        return out;
      },
      apply: (delta) => void doc.apply(delta),
      stateBytes: () =>
        doc.snapshot({ maxChunkBytes: 64 * 1024 * 1024 }).reduce((n, c) => n + c.byteLength, 0),
      version: () => doc.digest(),
      changesSince(version) {
        const changes = doc.changesSince(version as Digest);
        if (!changes.covered) throw new Error('the event log no longer covers the peer');
        return changes.update;
      },
    };
  },
};

export const yjs: BenchSystem = {
  name: 'yjs',
  replica(_index, capture = true) {
    const doc = new Y.Doc();
    const set = doc.getMap<boolean>('orset');
    const counter = doc.getMap<number>('counter');
    const register = doc.getMap<string>('register');
    const self = String(doc.clientID);
    let deltas: Uint8Array[] = [];
    if (capture) doc.on('update', (update: Uint8Array) => deltas.push(update));
    return {
      add: (key) => set.set(key, true),
      remove: (key) => set.delete(key),
      increment: () => counter.set(self, (counter.get(self) ?? 0) + 1),
      write: (value) => register.set('value', value),
      drain() {
        const out = deltas;
        deltas = [];
        return out;
      },
      apply: (delta) => Y.applyUpdate(doc, delta),
      stateBytes: () => Y.encodeStateAsUpdate(doc).byteLength,
      version: () => Y.encodeStateVector(doc),
      changesSince: (version) => Y.encodeStateAsUpdate(doc, version as Uint8Array),
    };
  },
};

type AutomergeShape = {
  orset: Record<string, boolean>;
  counter: A.Counter;
  register: string;
};

// The schema (root maps and the counter) is created once and shared, so every replica starts from the same base.
let automergeBase: A.Doc<AutomergeShape> | undefined;

export const automerge: BenchSystem = {
  name: 'automerge',
  replica(_index, capture = true) {
    automergeBase ??= A.from<AutomergeShape>({ orset: {}, counter: new A.Counter(0), register: '' });
    let doc = A.clone(automergeBase);
    let deltas: Uint8Array[] = [];
    const changed = (next: A.Doc<AutomergeShape>): void => {
      doc = next;
      if (capture) deltas.push(A.getLastLocalChange(doc)!);
    };
    return {
      add: (key) => changed(A.change(doc, (d) => void (d.orset[key] = true))),
      remove: (key) =>
        changed(
          A.change(doc, (d) => {
            delete d.orset[key];
          }),
        ),
      increment: () => changed(A.change(doc, (d) => d.counter.increment(1))),
      write: (value) => changed(A.change(doc, (d) => void (d.register = value))),
      drain() {
        const out = deltas;
        deltas = [];
        return out;
      },
      apply: (delta) => void ([doc] = A.applyChanges(doc, [delta])),
      stateBytes: () => A.save(doc).byteLength,
      version: () => A.getHeads(doc),
      changesSince: (version) => A.saveSince(doc, version as A.Heads),
    };
  },
};

export const loro: BenchSystem = {
  name: 'loro',
  replica(_index, capture = true) {
    const doc = new LoroDoc();
    const set = doc.getMap('orset');
    const counter = doc.getCounter('counter');
    const register = doc.getMap('register');
    let deltas: Uint8Array[] = [];
    if (capture) doc.subscribeLocalUpdates((update) => deltas.push(update));
    return {
      add(key) {
        set.set(key, true);
        doc.commit();
      },
      remove(key) {
        set.delete(key);
        doc.commit();
      },
      increment() {
        counter.increment(1);
        doc.commit();
      },
      write(value) {
        register.set('value', value);
        doc.commit();
      },
      drain() {
        const out = deltas;
        deltas = [];
        return out;
      },
      apply: (delta) => void doc.import(delta),
      stateBytes: () => doc.export({ mode: 'snapshot' }).byteLength,
      version: () => doc.oplogVersion(),
      changesSince: (version) => doc.export({ mode: 'update', from: version as VersionVector }),
    };
  },
};

export const systems: readonly BenchSystem[] = [meshwork, yjs, automerge, loro];
