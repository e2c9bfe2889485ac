import type { ReplicaId } from '@meshwork/core';

/** What `apply` reports; mirrors `ApplyResult` of a core Document. */
export interface ApplyResult {
  readonly events: number;
  readonly duplicates: number;
  readonly members: readonly string[];
  readonly snapshotComplete?: boolean;
}

/** A Document 'change' event as the transport sees it. */
export interface DocumentChange {
  readonly update: Uint8Array;
  readonly local: boolean;
  readonly origin: unknown;
}

export type ChangeListener = (change: DocumentChange) => void;

/**
 * The part of a core `Document` the transport syncs. Digests are opaque here:
 * only the {@link DocumentRuntime} encodes and decodes them.
 */
export interface SyncedDocument {
  readonly name: string;
  readonly replica: ReplicaId;
  digest(): unknown;
  changesSince(digest: unknown): { covered: true; update: Uint8Array } | { covered: false };
  snapshot(options: { maxChunkBytes: number }): Uint8Array[];
  /**
   * Validates fully, then merges; throws (a DecodeError) and changes nothing on bad bytes.
   * With `onlyFrom`, an update holding an event of any other replica is refused with
   * error code `origin` (the gossip signer check, done in the same decode).
   */
  apply(bytes: Uint8Array, origin?: unknown, options?: { onlyFrom?: ReplicaId }): ApplyResult;
  on(event: 'change', listener: ChangeListener): void;
  off(event: 'change', listener: ChangeListener): void;
}

/**
 * How the transport creates Documents and handles their wire messages; the
 * default is @meshwork/core's. Every decoding function throws on bad bytes.
 */
export interface DocumentRuntime<Doc extends SyncedDocument = SyncedDocument> {
  create(options: { name: string; replica: ReplicaId }): Doc;
  encodeDigest(digest: unknown): Uint8Array;
  decodeDigest(bytes: Uint8Array): unknown;
  /** Several update messages as one. */
  mergeUpdates(updates: Uint8Array[]): Uint8Array;
  /**
   * Roughly how many events a peer with digest `theirs` lacks of ours, and how
   * many we have. When it lacks a large share, a snapshot is cheaper to build,
   * send and apply than the events one by one. Optional.
   */
  estimateLacking?(ours: unknown, theirs: unknown): { lacking: number; total: number };
}
