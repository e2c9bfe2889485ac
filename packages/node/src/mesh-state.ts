import { createDocument, type Document } from '@meshwork/core';

/** The Document the daemon syncs and persists: the coordinator's shared state. */
export type MeshDocument = Document;

export const COORDINATION_DOCUMENT = 'meshwork/coordination';

export function coordinationDocument(
  replica: string,
  log?: { readonly maxEvents: number; readonly maxBytes: number },
): MeshDocument {
  return createDocument({ name: COORDINATION_DOCUMENT, replica, ...(log !== undefined && { log }) });
}
