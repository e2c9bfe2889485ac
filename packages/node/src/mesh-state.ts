import {
  createDocument,
  decodeDigest,
  encodeDigest,
  mergeUpdates,
  updateOrigins,
  type Digest,
  type Document,
} from '@meshwork/core';
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
