import type { NodeStore } from './store.ts';

/** The part of a core `Document` that persistence needs. */
export interface PersistableDocument {
  readonly name: string;
  apply(bytes: Uint8Array, origin?: unknown): unknown;
  snapshot(options?: { maxChunkBytes?: number }): Uint8Array[];
  on(event: 'change', listener: (e: { update: Uint8Array }) => void): void;
  off(event: 'change', listener: (e: { update: Uint8Array }) => void): void;
}

export interface DocumentPersistence {
  /** Events restored at startup (snapshot chunks not counted). */
  readonly restoredEvents: number;
  /** Writes a snapshot now and drops the log events it covers. */
  compact(): void;
  /** Stops recording; the store stays open. */
  detach(): void;
}

/** Origin passed to `apply` while restoring, so listeners can tell replayed state from new changes. */
export const RESTORE_ORIGIN = Symbol('meshwork.restore');

/**
 * Restores `doc` from the store (snapshot, then the log after it), then records every later change.
 *
 * Call it right after creating the document and before anything else listens: 'change' listeners
 * run synchronously in registration order, so the update is in SQLite before the transport sees it
 * to gossip it and before the mutating call returns to be acknowledged.
 */
export function persistDocument(
  doc: PersistableDocument,
  store: NodeStore,
  options: {
    compactAfterEvents?: number;
    maxChunkBytes?: number;
    /**
     * Called when an event cannot be written. It runs before any later listener sees the event,
     * so failing-stop here (the daemon exits) keeps an undurable event from ever leaving the
     * node. Default: rethrow, failing the mutation that made it.
     */
    onWriteError?: (err: unknown) => void;
  } = {},
): DocumentPersistence {
  const compactAfter = options.compactAfterEvents ?? 5_000;
  const maxChunkBytes = options.maxChunkBytes ?? 256 * 1024;
  const snapshot = store.snapshot(doc.name);
  if (snapshot) for (const chunk of snapshot.chunks) doc.apply(chunk, RESTORE_ORIGIN);
  const log = store.events(doc.name, snapshot?.uptoSeq ?? 0);
  for (const { update } of log) doc.apply(update, RESTORE_ORIGIN);

  let lastSeq = log.at(-1)?.seq ?? snapshot?.uptoSeq ?? 0;
  let sinceCompaction = log.length;
  let compactTimer: NodeJS.Timeout | undefined;

  const compact = (): void => {
    if (compactTimer !== undefined) clearTimeout(compactTimer);
    compactTimer = undefined;
    // Taken in one synchronous step: the snapshot holds exactly the events up to lastSeq.
    store.saveSnapshot(doc.name, doc.snapshot({ maxChunkBytes }), lastSeq);
    sinceCompaction = 0;
  };

  const onChange = (e: { update: Uint8Array }): void => {
    try {
      lastSeq = store.appendEvent(doc.name, e.update);
    } catch (err) {
      if (options.onWriteError === undefined) throw err;
      options.onWriteError(err);
      return;
    }
    sinceCompaction++;
    // Compaction is deferred off the write path; a crash before it only leaves a longer log.
    if (sinceCompaction >= compactAfter && compactTimer === undefined) {
      compactTimer = setTimeout(() => {
        try {
          compact();
        } catch {
          // The log still holds every event; the next threshold tries again. A store that
          // cannot be written at all fails the next append instead.
          compactTimer = undefined;
          sinceCompaction = 0;
        }
      }, 0);
    }
  };
  doc.on('change', onChange);

  return {
    restoredEvents: log.length,
    compact,
    detach() {
      doc.off('change', onChange);
      if (compactTimer !== undefined) clearTimeout(compactTimer);
      compactTimer = undefined;
    },
  };
}
