import {
  createDocument,
  decodeDigest,
  encodeDigest,
  mergeUpdates,
  updateOrigins,
  type Digest,
  type Document,
} from '@meshwork/core';
import type { DocumentRuntime } from './synced-document.ts';

/** @meshwork/core Documents: the default runtime of a mesh node. */
export const coreRuntime: DocumentRuntime<Document> = {
  create: (options) => createDocument(options),
  encodeDigest: (digest) => encodeDigest(digest as Digest),
  decodeDigest: (bytes) => decodeDigest(bytes),
  updateOrigins,
  mergeUpdates,
};
