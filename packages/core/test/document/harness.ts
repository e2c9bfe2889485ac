import fc from 'fast-check';
import {
  createDocument,
  lww,
  type Document,
  type DocumentOptions,
  type LWWRegister,
  type ORMap,
} from '../../src/index.ts';
import { decodeSnapshotChunk } from '../../src/document/snapshot-chunks.ts';
import { Reader } from '../../src/codec/reader.ts';

/** One mutation over the members every test document has. */
export type Op =
  | { readonly kind: 'add'; readonly v: string }
  | { readonly kind: 'remove'; readonly v: string }
  | { readonly kind: 'inc'; readonly n: number }
  | { readonly kind: 'dec'; readonly n: number }
  | { readonly kind: 'set'; readonly v: string }
  | { readonly kind: 'mapSet'; readonly k: string; readonly v: number }
  | { readonly kind: 'mapDelete'; readonly k: string }
  | { readonly kind: 'mv'; readonly v: string };

const letter = fc.constantFrom('a', 'b', 'c', 'd');

export const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('add' as const), v: letter }),
  fc.record({ kind: fc.constant('remove' as const), v: letter }),
  fc.record({ kind: fc.constant('inc' as const), n: fc.integer({ min: 1, max: 5 }) }),
  fc.record({ kind: fc.constant('dec' as const), n: fc.integer({ min: 1, max: 5 }) }),
  fc.record({ kind: fc.constant('set' as const), v: letter }),
  fc.record({ kind: fc.constant('mapSet' as const), k: letter, v: fc.integer({ min: 0, max: 9 }) }),
  fc.record({ kind: fc.constant('mapDelete' as const), k: letter }),
  fc.record({ kind: fc.constant('mv' as const), v: letter }),
);

/** A transaction: 1–3 mutations made as one event. */
export const txArb: fc.Arbitrary<Op[]> = fc.array(opArb, { minLength: 1, maxLength: 3 });

/** A document with every test member created (so equal states give equal fingerprints). */
export function newDoc(replica: string, options: Partial<DocumentOptions> = {}): Document {
  const doc = createDocument({ replica, name: 'test', ...options });
  doc.orset('set');
  doc.pncounter('count');
  doc.lww('reg');
  tasks(doc);
  doc.mvregister('mv');
  return doc;
}

function tasks(doc: Document): ORMap<LWWRegister<number>> {
  return doc.ormap('tasks', lww<number>());
}

export function run(doc: Document, op: Op): void {
  switch (op.kind) {
    case 'add':
      return doc.orset<string>('set').add(op.v);
    case 'remove':
      return doc.orset<string>('set').remove(op.v);
    case 'inc':
      return doc.pncounter('count').increment(op.n);
    case 'dec':
      return doc.pncounter('count').decrement(op.n);
    case 'set':
      return doc.lww<string>('reg').set(op.v);
    case 'mapSet':
      return tasks(doc).get(op.k).set(op.v);
    case 'mapDelete':
      return tasks(doc).delete(op.k);
    case 'mv':
      return doc.mvregister<string>('mv').set(op.v);
  }
}

/** Runs a transaction and returns the update messages it produced (one, unless it was empty). */
export function transact(doc: Document, ops: readonly Op[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  const listener = (e: { update: Uint8Array; local: boolean }): void => {
    if (e.local) out.push(e.update);
  };
  doc.on('change', listener);
  try {
    doc.transact(() => {
      for (const op of ops) run(doc, op);
    });
  } finally {
    doc.off('change', listener);
  }
  return out;
}

/** What a user can observe of a test document's members. */
export function view(doc: Document): unknown {
  return {
    set: doc.orset<string>('set').values().sort(),
    count: doc.pncounter('count').value,
    reg: doc.lww<string>('reg').get() ?? null,
    tasks: tasks(doc)
      .keys()
      .sort()
      .map((k) => [k, tasks(doc).get(k).get() ?? null]),
    mv: doc.mvregister<string>('mv').values().sort(),
  };
}

/**
 * The document's full state as canonical bytes (hex): the snapshot payload
 * without the clock reading. Equal states give equal fingerprints.
 */
export function fingerprint(doc: Document): string {
  const [chunk] = doc.snapshot({ maxChunkBytes: 16 * 1024 * 1024 });
  const payload = decodeSnapshotChunk(chunk!).piece;
  const r = new Reader(payload);
  r.uint();
  r.uint();
  return Buffer.from(payload.subarray(r.position)).toString('hex');
}

/** The whole state of `doc` as one update-free message list (its snapshot chunks). */
export function snapshotOf(doc: Document): Uint8Array[] {
  return doc.snapshot({ maxChunkBytes: 256 });
}

/** Fisher–Yates with a fast-check random source, so shrinking and replay work. */
export function shuffled<T>(items: readonly T[], keys: readonly number[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = (keys[i % Math.max(1, keys.length)] ?? 0) % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Brings `to` up to date with `from` the way a sync round does: changesSince, or a snapshot when not covered. */
export function antiEntropy(from: Document, to: Document): 'update' | 'snapshot' {
  const changes = from.changesSince(to.digest());
  if (changes.covered) {
    to.apply(changes.update);
    return 'update';
  }
  for (const chunk of from.snapshot({ maxChunkBytes: 200 }).reverse()) to.apply(chunk);
  return 'snapshot';
}
