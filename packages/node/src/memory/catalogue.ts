import { createDocument, type Document } from '@meshwork/core';
import { CATALOGUE_DOCUMENT, isMemoryName, MAX_DOCUMENT_NAME } from './names.ts';

/** The core member of the catalogue Document: an add-only ORSet of document names. */
const DOCUMENTS_MEMBER = 'documents';

/**
 * Which shared-memory documents exist, mesh-wide: a Document of its own, synced and persisted like
 * the others, so a node learns of a document created anywhere and opens it. Names only grow:
 * documents are never removed.
 */
export interface Catalogue {
  readonly doc: Document;
  /** Document names, sorted; entries that are not valid names (from a faulty peer) are skipped. */
  names(): string[];
  has(name: string): boolean;
  /** Records `name`: one event of the catalogue. */
  add(name: string): void;
}

export function createCatalogue(replica: string): Catalogue {
  const doc = createDocument({ name: CATALOGUE_DOCUMENT, replica });
  const set = doc.orset(DOCUMENTS_MEMBER);
  return {
    doc,
    names: () =>
      set
        .values()
        .filter((v): v is string => isMemoryName(v, MAX_DOCUMENT_NAME))
        .sort(),
    has: (name) => set.has(name),
    add: (name) => set.add(name),
  };
}
