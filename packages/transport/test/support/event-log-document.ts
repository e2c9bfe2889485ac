import { DecodeError, Reader, Writer } from '@meshwork/core';
import type { ApplyResult, ChangeListener, DocumentRuntime, SyncedDocument } from '../../src/index.ts';

/**
 * A minimal Document for transport tests: a grow-only log of (replica, seq,
 * key, value) events with a bounded delta log, speaking the same message
 * shapes as a core Document (version byte, kind byte; update / snapshot
 * chunk / digest). It lets the transport's behaviour be tested on its own.
 */
interface Event {
  replica: string;
  seq: number;
  key: string;
  value: string;
}

const VERSION = 1;
const UPDATE = 1;
const CHUNK = 2;
const DIGEST = 3;

type Digest = Map<string, Set<number>>;

function writeEvents(kind: number, events: Event[]): Uint8Array {
  const w = new Writer();
  w.byte(VERSION);
  w.byte(kind);
  w.uint(events.length);
  for (const e of events) {
    w.replica(e.replica);
    w.uint(e.seq);
    w.string(e.key);
    w.string(e.value);
  }
  return w.finish();
}

function readEvents(bytes: Uint8Array): Event[] {
  const r = new Reader(bytes);
  if (r.byte('version') !== VERSION) throw new DecodeError('version', 'event log version');
  const kind = r.byte('kind');
  if (kind !== UPDATE && kind !== CHUNK) throw new DecodeError('kind', `kind ${kind}`);
  const n = r.count('events', 4);
  const events: Event[] = [];
  for (let i = 0; i < n; i++) {
    const replica = r.replica();
    const seq = r.uint('seq');
    if (seq === 0) throw new DecodeError('invalid', 'seq 0');
    events.push({ replica, seq, key: r.string('key'), value: r.string('value') });
  }
  r.end();
  return events;
}

export interface EventLogDocument extends SyncedDocument {
  set(key: string, value: string): void;
  /** Several sets as one batch of local events. */
  setMany(entries: [string, string][]): void;
  has(replica: string, seq: number): boolean;
  readonly size: number;
  /** Sorted event ids: equal on converged replicas. */
  fingerprint(): string;
  get(key: string): string | undefined;
}

export function createEventLogDocument(o: {
  name: string;
  replica: string;
  maxLogEvents?: number;
}): EventLogDocument {
  const events = new Map<string, Event>();
  const seen: Digest = new Map();
  const log: Event[] = [];
  const maxLog = o.maxLogEvents ?? 1000;
  const truncatedBefore = new Map<string, number>(); // per replica: events with seq ≤ this are no longer in the log
  const listeners = new Set<ChangeListener>();
  let seq = 0;

  const add = (e: Event): boolean => {
    const id = `${e.replica}:${e.seq}`;
    if (events.has(id)) return false;
    events.set(id, e);
    let s = seen.get(e.replica);
    if (s === undefined) seen.set(e.replica, (s = new Set()));
    s.add(e.seq);
    log.push(e);
    if (log.length > maxLog) {
      const dropped = log.shift() as Event;
      truncatedBefore.set(dropped.replica, Math.max(truncatedBefore.get(dropped.replica) ?? 0, dropped.seq));
    }
    return true;
  };

  const emit = (update: Uint8Array, local: boolean, origin: unknown): void => {
    for (const l of listeners) l({ update, local, origin });
  };

  const doc: EventLogDocument = {
    name: o.name,
    replica: o.replica,
    digest: () => new Map([...seen].map(([r, s]) => [r, new Set(s)])),
    changesSince(digest) {
      const d = digest as Digest;
      // Covered only if the log still holds every event the peer lacks.
      for (const [replica, before] of truncatedBefore) {
        const theirs = d.get(replica);
        for (let s = 1; s <= before; s++) if (theirs?.has(s) !== true) return { covered: false };
      }
      const missing = [...events.values()].filter((e) => d.get(e.replica)?.has(e.seq) !== true);
      return { covered: true, update: writeEvents(UPDATE, missing) };
    },
    snapshot({ maxChunkBytes }) {
      const chunks: Uint8Array[] = [];
      let batch: Event[] = [];
      let bytes = 0;
      for (const e of events.values()) {
        const size = e.replica.length + e.key.length + e.value.length + 16;
        if (batch.length > 0 && bytes + size > maxChunkBytes) {
          chunks.push(writeEvents(CHUNK, batch));
          batch = [];
          bytes = 0;
        }
        batch.push(e);
        bytes += size;
      }
      chunks.push(writeEvents(CHUNK, batch));
      return chunks;
    },
    apply(bytes, origin): ApplyResult {
      const incoming = readEvents(bytes);
      const added: Event[] = [];
      for (const e of incoming) if (add(e)) added.push(e);
      const fresh = added.length;
      if (fresh > 0) emit(writeEvents(UPDATE, added), false, origin);
      return { events: fresh, duplicates: incoming.length - fresh, members: [] };
    },
    on: (_event, l) => void listeners.add(l),
    off: (_event, l) => void listeners.delete(l),
    set(key, value) {
      doc.setMany([[key, value]]);
    },
    setMany(entries) {
      const batch = entries.map(([key, value]) => ({ replica: o.replica, seq: ++seq, key, value }));
      for (const e of batch) add(e);
      emit(writeEvents(UPDATE, batch), true, undefined);
    },
    has: (replica, s) => events.has(`${replica}:${s}`),
    get size() {
      return events.size;
    },
    fingerprint: () => [...events.keys()].sort().join(','),
    get(key) {
      let best: Event | undefined;
      for (const e of events.values()) {
        if (e.key !== key) continue;
        if (best === undefined || e.seq > best.seq || (e.seq === best.seq && e.replica > best.replica))
          best = e;
      }
      return best?.value;
    },
  };
  return doc;
}

export const eventLogRuntime: DocumentRuntime<EventLogDocument> = {
  create: (o) => createEventLogDocument(o),
  encodeDigest(digest) {
    const d = digest as Digest;
    const w = new Writer();
    w.byte(VERSION);
    w.byte(DIGEST);
    w.uint(d.size);
    for (const [replica, seqs] of d) {
      w.string(replica);
      w.uint(seqs.size);
      for (const s of [...seqs].sort((a, b) => a - b)) w.uint(s);
    }
    return w.finish();
  },
  decodeDigest(bytes) {
    const r = new Reader(bytes);
    if (r.byte('version') !== VERSION || r.byte('kind') !== DIGEST)
      throw new DecodeError('kind', 'not a digest');
    const d: Digest = new Map();
    const n = r.count('replicas', 2);
    for (let i = 0; i < n; i++) {
      const replica = r.string('replica');
      const m = r.count('seqs', 1);
      const s = new Set<number>();
      for (let j = 0; j < m; j++) s.add(r.uint('seq'));
      d.set(replica, s);
    }
    r.end();
    return d;
  },
  updateOrigins: (update) => new Set(readEvents(update).map((e) => e.replica)),
  mergeUpdates: (updates) => writeEvents(UPDATE, updates.flatMap(readEvents)),
};
