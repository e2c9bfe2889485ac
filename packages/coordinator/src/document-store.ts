import {
  Emitter,
  lww,
  type CausalContext,
  type ChangeEvent,
  type Document,
  type LWWRegister,
  type ORMap,
} from '@meshwork/core';
import {
  recordKinds,
  type CoordinationStore,
  type RecordChange,
  type RecordKind,
  type StoreEvents,
} from './store.ts';

/**
 * The coordinator's records in a Document: one ORMap of LWW registers per record kind,
 * named `<prefix><kind>` and keyed by record key. Change events name the keys each event
 * wrote or removed, so the coordinator never rescans a collection; a transaction of records
 * is one Document event, synced by whatever transport carries the Document; a removed record
 * leaves nothing behind but the causal context.
 */
export function createDocumentStore(
  doc: Document,
  options: { readonly prefix?: string } = {},
): CoordinationStore {
  const prefix = options.prefix ?? 'coord/';
  const maps = new Map<RecordKind, ORMap<LWWRegister>>();
  const kindOf = new Map<string, RecordKind>();
  for (const kind of recordKinds) {
    maps.set(kind, doc.ormap(`${prefix}${kind}`, lww()));
    kindOf.set(`${prefix}${kind}`, kind);
  }
  const map = (kind: RecordKind): ORMap<LWWRegister> => maps.get(kind)!;
  // The Document's causal context, kept up to date from its change events: reading it from the
  // Document would copy it, on every claim of every pass. Subscribed first, so that the store's
  // own listeners read it with the event they hear of.
  let seen: CausalContext = doc.digest();
  doc.on('change', (e) => {
    if (e.snapshot) seen = doc.digest();
    else for (const d of e.dots) seen.add(d.replica, d.seq);
  });
  const onDocChange = (e: ChangeEvent): void => {
    const mine = e.members.filter((m) => kindOf.has(m));
    if (mine.length === 0) return;
    if (e.snapshot) return events.emit('change', ['all', e.local]);
    const changes: RecordChange[] = [];
    for (const member of mine) {
      const kind = kindOf.get(member)!;
      for (const key of e.keys.get(member) ?? []) changes.push({ kind, key });
    }
    if (changes.length > 0) events.emit('change', [changes, e.local]);
  };
  // Listens to the Document only while the store has listeners, from the first one on: its place
  // among the Document's listeners is where the coordinator subscribed.
  const events = new Emitter<StoreEvents>({
    observed: (observed) => (observed ? doc.on('change', onDocChange) : doc.off('change', onDocChange)),
  });

  return {
    replica: doc.replica,
    read(kind, key) {
      const m = map(kind);
      if (!m.has(key)) return undefined;
      const register = m.get(key);
      const value = register.get();
      const writer = register.timestamp?.replica;
      return value === undefined || writer === undefined ? undefined : { value, writer };
    },
    *entries(kind) {
      const m = map(kind);
      for (const key of m.keys()) {
        const v = m.get(key).get();
        if (v !== undefined) yield [key, v] as const;
      }
    },
    order: {
      contiguous: (replica) => seen.contiguous(replica),
      highest: (replica) => seen.nextSeq(replica) - 1,
    },
    transact: (fn) => doc.transact(fn),
    write(records) {
      doc.transact(() => {
        for (const r of records) map(r.kind).get(r.key).set(r.value);
      });
    },
    remove(records) {
      const byKind = new Map<RecordKind, string[]>();
      for (const r of records) {
        const keys = byKind.get(r.kind);
        if (keys === undefined) byKind.set(r.kind, [r.key]);
        else keys.push(r.key);
      }
      // One delta per kind: a removal of many tasks costs a few deltas, not one per record.
      doc.transact(() => {
        for (const [kind, keys] of byKind) map(kind).deleteAll(keys);
      });
    },
    ...events.observable(),
  };
}
