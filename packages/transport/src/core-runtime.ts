import {
  createDocument,
  decodeDigest,
  encodeDigest,
  mergeUpdates,
  type Digest,
  type Document,
} from '@meshwork/core';
import type { DocumentRuntime } from './synced-document.ts';

/** @meshwork/core Documents: the default runtime of a mesh node. */
export const coreRuntime: DocumentRuntime<Document> = {
  create: (options) => createDocument(options),
  encodeDigest: (digest) => encodeDigest(digest as Digest),
  decodeDigest: (bytes) => decodeDigest(bytes),
  mergeUpdates,
  estimateLacking(ours, theirs) {
    const mine = ours as Digest;
    const peer = theirs as Digest;
    // Contiguous prefixes only: dots out of order are few and do not change the choice.
    let lacking = 0;
    for (const replica of mine.replicas()) {
      lacking += Math.max(0, mine.contiguous(replica) - peer.contiguous(replica));
    }
    return { lacking, total: mine.size };
  },
};
