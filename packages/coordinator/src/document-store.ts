import type { ChangeEvent, Document } from '@meshwork/core';
import { recordKinds, type CoordinationStore, type RecordChange, type RecordKind } from './store.ts';

const kinds: ReadonlySet<string> = new Set<string>(recordKinds);

/**
 * The coordinator's records as members of a Document: one LWW register per record, named
 * `<prefix><kind>/<key>`. One member per record makes every change event name exactly the
 * records that changed, so the coordinator never rescans a collection, and a transaction of
 * records is one Document event, synced by whatever transport carries the Document.
 */
export function createDocumentStore(
  doc: Document,
  options: { readonly prefix?: string } = {},
): CoordinationStore {
  const prefix = options.prefix ?? 'coord/';

  const parse = (member: string): RecordChange | null => {
    if (!member.startsWith(prefix)) return null;
    const rest = member.slice(prefix.length);
    const slash = rest.indexOf('/');
    const kind = rest.slice(0, slash);
    return slash > 0 && kinds.has(kind) ? { kind: kind as RecordKind, key: rest.slice(slash + 1) } : null;
  };
  const name = (kind: RecordKind, key: string): string => `${prefix}${kind}/${key}`;

  return {
    replica: doc.replica,
    get: (kind, key) => doc.lww(name(kind, key)).get(),
    *entries(kind) {
      const start = `${prefix}${kind}/`;
      for (const m of doc.memberNames()) {
        if (!m.startsWith(start)) continue;
        const v = doc.lww(m).get();
        if (v !== undefined) yield [m.slice(start.length), v] as const;
      }
    },
    transact: (fn) => doc.transact(fn),
    write(records) {
      doc.transact(() => {
        for (const r of records) doc.lww(name(r.kind, r.key)).set(r.value);
      });
    },
    onChange(listener) {
      const onDocChange = (e: ChangeEvent): void => {
        const changes: RecordChange[] = [];
        for (const m of e.members) {
          const c = parse(m);
          if (c !== null) changes.push(c);
        }
        if (changes.length > 0) listener(changes, e.local);
      };
      doc.on('change', onDocChange);
      return () => doc.off('change', onDocChange);
    },
  };
}
