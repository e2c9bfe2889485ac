import {
  createDocument,
  decodeDigest,
  encodeDigest,
  mergeUpdates,
  updateOrigins,
  type Digest,
  type Document,
  type LWWRegister,
  type Value,
} from '@meshwork/core';
import type { CoordinationStore, RecordChange, RecordKind, RecordWrite } from '@meshwork/coordinator';
import type { DocumentRuntime } from '@meshwork/transport';

/** The Document the daemon syncs and persists: the coordinator's shared state. */
export type MeshDocument = Document;

export const COORDINATION_DOCUMENT = 'meshwork/coordination';

/** How the transport creates and reads core Documents. */
export const documentRuntime: DocumentRuntime<MeshDocument> = {
  create: ({ name, replica }) => createDocument({ name, replica }),
  encodeDigest: (digest) => encodeDigest(digest as Digest),
  decodeDigest: (bytes) => decodeDigest(bytes),
  updateOrigins: (update) => updateOrigins(update),
  mergeUpdates: (updates) => mergeUpdates(updates),
};

export function coordinationDocument(replica: string): MeshDocument {
  return createDocument({ name: COORDINATION_DOCUMENT, replica });
}

const SEPARATOR = '/';

/**
 * The coordinator's record store over a Document: one LWW register member per record, named
 * `<kind>/<key>`. A change event names the members it touched, so the coordinator learns
 * exactly which records changed without scanning.
 */
export function documentCoordinationStore(doc: MeshDocument): CoordinationStore {
  const register = (kind: RecordKind, key: string): LWWRegister<Value> =>
    doc.lww<Value>(`${kind}${SEPARATOR}${key}`);
  const byKind = new Map<RecordKind, Set<string>>();
  const index = (name: string): RecordChange | undefined => {
    const at = name.indexOf(SEPARATOR);
    if (at <= 0) return undefined;
    const change = { kind: name.slice(0, at) as RecordKind, key: name.slice(at + 1) };
    let keys = byKind.get(change.kind);
    if (keys === undefined) byKind.set(change.kind, (keys = new Set()));
    keys.add(change.key);
    return change;
  };
  for (const name of doc.memberNames()) index(name);

  return {
    replica: doc.replica,
    get(kind, key) {
      if (!byKind.get(kind)?.has(key)) return undefined;
      return register(kind, key).get();
    },
    *entries(kind) {
      for (const key of byKind.get(kind) ?? []) {
        const v = register(kind, key).get();
        if (v !== undefined) yield [key, v] as const;
      }
    },
    write(records: readonly RecordWrite[]) {
      doc.transact(() => {
        for (const r of records) {
          index(`${r.kind}${SEPARATOR}${r.key}`);
          register(r.kind, r.key).set(r.value);
        }
      });
    },
    onChange(listener) {
      const onDocChange = (e: { members: readonly string[]; local: boolean }): void => {
        const changes: RecordChange[] = [];
        for (const name of e.members) {
          const c = index(name);
          if (c !== undefined) changes.push(c);
        }
        if (changes.length > 0) listener(changes, e.local);
      };
      doc.on('change', onDocChange);
      return () => doc.off('change', onDocChange);
    },
  };
}
