import { expect } from 'vitest';
import { encodeDigest, type Document } from '../../src/index.ts';

/** What a rejected input must leave untouched: digest, members, snapshot bytes, change events. */
export function fingerprint(doc: Document): () => void {
  const digest = encodeDigest(doc.digest());
  const members = doc.memberNames();
  const snapshot = doc.snapshot();
  let changes = 0;
  const count = (): void => {
    changes++;
  };
  doc.on('change', count);
  return () => {
    doc.off('change', count);
    expect(encodeDigest(doc.digest())).toEqual(digest);
    expect(doc.memberNames()).toEqual(members);
    expect(doc.snapshot()).toEqual(snapshot);
    expect(changes).toBe(0);
  };
}

/** A fresh replica restored from `doc`'s snapshot, as a node restores after a restart. */
export function restore(doc: Document, create: () => Document): Document {
  const fresh = create();
  for (const chunk of doc.snapshot({ maxChunkBytes: 4096 })) fresh.apply(chunk);
  return fresh;
}
