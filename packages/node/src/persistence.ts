import { MeshworkError } from '@meshwork/core';
import type { NodeStore } from './store.ts';

/** The part of a core `Document` that persistence needs. */
export interface PersistableDocument {
  readonly name: string;
  apply(bytes: Uint8Array, origin?: unknown): unknown;
  snapshot(options?: { maxChunkBytes?: number }): Uint8Array[];
  on(event: 'change', listener: (e: PersistedChange) => void): void;
  off(event: 'change', listener: (e: PersistedChange) => void): void;
}

/** What persistence reads of a change: its update, and whether this replica made it. */
export interface PersistedChange {
  readonly update: Uint8Array;
  readonly local: boolean;
}

/** A stored item restore set aside: a log event (by sequence number) or the whole snapshot. */
export type QuarantinedItem = { kind: 'event'; seq: number } | { kind: 'snapshot' };

export interface DocumentPersistence {
  /** Events restored at startup (snapshot chunks not counted). */
  readonly restoredEvents: number;
  /** What restore moved to the quarantine table because it could not be decoded or applied. */
  readonly quarantined: { readonly events: number; readonly snapshots: number };
  /** Writes a snapshot now and drops the log events it covers. */
  compact(): void;
  /** Stops recording; the store stays open. */
  detach(): void;
}

/**
 * An event could not be appended to the event log (disk full, I/O error, store closed). Once raised,
 * every later change is refused with it too: the log would have a gap, and a restart would give
 * the lost event's sequence number to different content.
 */
export class EventLogError extends MeshworkError {
  override readonly name = 'EventLogError';
  constructor(document: string, cause: unknown) {
    super(
      'event_log',
      `cannot write to the event log of "${document}": ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
}

/** Origin passed to `apply` while restoring, so listeners can tell replayed state from new changes. */
export const RESTORE_ORIGIN = Symbol('meshwork.restore');

/**
 * Restores `doc` from the store (snapshot, then the log after it), then records every later change.
 * A snapshot or event that cannot be decoded or applied (written by an older version, damaged,
 * or past the limits) is moved to the store's quarantine table and the rest is restored: a
 * node always starts from its own data, and peers can send what was lost again.
 *
 * Call it right after creating the document and before anything else listens: 'change' listeners
 * run synchronously in registration order, so this replica's update is in SQLite before the
 * transport sees it to gossip it and before the mutating call returns to be acknowledged. A peer's
 * events are written at the end of the event loop's turn, together with the others of that turn,
 * or before this replica's next event, whichever comes first.
 */
export function persistDocument(
  doc: PersistableDocument,
  store: NodeStore,
  options: {
    compactAfterEvents?: number;
    maxChunkBytes?: number;
    /**
     * Called once, when the first event cannot be written. This replica's event is then refused
     * with the EventLogError thrown from this listener, so no later 'change' listener (the
     * transport) sees it and the mutation that made it fails: an undurable event is never
     * acknowledged or gossiped. Peers' events of that turn stay unwritten (peers can send them
     * again). Every later event is refused. The owner should stop syncing the Document and stop.
     */
    onWriteError?: (err: EventLogError) => void;
    /** Called for each item restore sets aside, after it is in the quarantine table. */
    onQuarantine?: (item: QuarantinedItem, err: unknown) => void;
  } = {},
): DocumentPersistence {
  const compactAfter = options.compactAfterEvents ?? 5_000;
  const maxChunkBytes = options.maxChunkBytes ?? 256 * 1024;
  const quarantined = { events: 0, snapshots: 0 };
  const setAside = (item: QuarantinedItem, err: unknown): void => {
    store.quarantine(doc.name, item, err instanceof Error ? `${err.name}: ${err.message}` : String(err));
    if (item.kind === 'event') quarantined.events++;
    else quarantined.snapshots++;
    options.onQuarantine?.(item, err);
  };
  // Any error, not only DecodeError: a value that overflows the stack while merging is as
  // fatal to a start as one the decoder refuses.
  const restore = (bytes: Uint8Array): unknown => {
    try {
      doc.apply(bytes, RESTORE_ORIGIN);
      return undefined;
    } catch (err) {
      return err ?? new Error('apply failed');
    }
  };
  const snapshot = store.snapshot(doc.name);
  if (snapshot) {
    // Its chunks are assembled and merged as one: a bad one spoils the whole snapshot.
    for (const chunk of snapshot.chunks) {
      const err = restore(chunk);
      if (err !== undefined) {
        setAside({ kind: 'snapshot' }, err);
        break;
      }
    }
  }
  const log = store.events(doc.name, snapshot?.uptoSeq ?? 0);
  for (const { seq, update } of log) {
    const err = restore(update);
    if (err !== undefined) setAside({ kind: 'event', seq }, err);
  }

  let lastSeq = log.at(-1)?.seq ?? snapshot?.uptoSeq ?? 0;
  let sinceCompaction = log.length;
  let compactTimer: NodeJS.Timeout | undefined;

  let failed: EventLogError | null = null;
  const fail = (err: unknown): EventLogError => {
    failed = new EventLogError(doc.name, err);
    options.onWriteError?.(failed);
    return failed;
  };
  // A peer's events wait for the end of the event loop's turn and are written together, in one
  // commit that does not wait for the disk: a crash that loses them loses nothing that peers cannot
  // send again, and a commit per event cost a busy node more than the rest of taking them in.
  // This replica's own events go at once and flushed, with the peers' events before them first,
  // so the log keeps the order in which the Document took them in.
  let peers: Uint8Array[] = [];
  let peersTimer: NodeJS.Immediate | undefined;
  const write = (updates: readonly Uint8Array[], flush: boolean): void => {
    store.transaction(
      () => {
        for (const update of updates) lastSeq = store.appendEvent(doc.name, update);
      },
      { flush },
    );
    sinceCompaction += updates.length;
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
  const takePeers = (): Uint8Array[] => {
    if (peersTimer !== undefined) clearImmediate(peersTimer);
    peersTimer = undefined;
    const taken = peers;
    peers = [];
    return taken;
  };
  const writePeers = (): void => {
    const updates = takePeers();
    if (updates.length === 0 || failed !== null) return;
    try {
      write(updates, false);
    } catch (err) {
      fail(err);
    }
  };

  const compact = (): void => {
    writePeers();
    if (failed !== null) throw failed;
    if (compactTimer !== undefined) clearTimeout(compactTimer);
    compactTimer = undefined;
    // Taken in one synchronous step: the snapshot holds exactly the events up to lastSeq.
    store.saveSnapshot(doc.name, doc.snapshot({ maxChunkBytes }), lastSeq);
    sinceCompaction = 0;
  };

  const onChange = (e: PersistedChange): void => {
    if (failed !== null) throw failed;
    if (!e.local) {
      peers.push(e.update);
      peersTimer ??= setImmediate(writePeers);
      return;
    }
    try {
      write([...takePeers(), e.update], true);
    } catch (err) {
      throw fail(err);
    }
  };
  doc.on('change', onChange);

  return {
    restoredEvents: log.length - quarantined.events,
    quarantined,
    compact,
    detach() {
      writePeers();
      doc.off('change', onChange);
      if (compactTimer !== undefined) clearTimeout(compactTimer);
      compactTimer = undefined;
    },
  };
}
