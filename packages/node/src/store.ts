import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { inTransaction } from './transaction.ts';

/** One attempt of a task as kept in the `task_history` table. Times are epoch milliseconds. */
export interface AttemptRecord {
  task: string;
  attempt: number;
  agent: string;
  epoch: number;
  startedAt: number;
  endedAt: number | null;
  /** `running` until the attempt ends; then the coordinator's outcome (succeeded, failed, ...). */
  outcome: string;
}

/** How a task ended, as kept in the `task_results` table once this replica saw it finish. */
export interface TaskResultRecord {
  task: string;
  /** `succeeded`, `failed` or `cancelled`. */
  status: string;
  /** The accepted result (plain JSON), or null. */
  result: unknown;
  error: string | null;
  /** When this replica first saw the task finished (epoch ms). */
  finishedAt: number;
}

/** A stored event or snapshot that could not be restored, as kept in the `quarantine` table. */
export interface QuarantinedRecord {
  doc: string;
  /** `event`: one row of the log (`seq` its sequence number); `snapshot`: one chunk (`seq` its index). */
  kind: 'event' | 'snapshot';
  seq: number;
  bytes: Uint8Array;
  /** Why it could not be restored. */
  error: string;
  /** When it was set aside (epoch ms). */
  at: number;
}

export interface StoredSnapshot {
  chunks: Uint8Array[];
  /** Highest event-log sequence number the snapshot covers. */
  uptoSeq: number;
}

/**
 * The node's SQLite database (`<dataDir>/meshwork.db`, WAL): node key, per-document event log and
 * snapshots, and the task-history table. Every call is synchronous, so a write has reached SQLite
 * (and, with `sync: 'full'`, the disk) when it returns.
 */
export interface NodeStore {
  readonly path: string;
  getMeta(key: string): Uint8Array | undefined;
  setMeta(key: string, value: Uint8Array): void;
  /**
   * Appends one update message to a document's log; returns its sequence number. With
   * `flush: false` the commit does not wait for the disk (no fsync, whatever `sync` says): the
   * event survives a crash of the process but not of the machine, until the next flushed commit,
   * which makes it durable too since the log is written in order.
   */
  appendEvent(doc: string, update: Uint8Array, options?: { readonly flush?: boolean }): number;
  /** Events of `doc` after `afterSeq`, in order. */
  events(doc: string, afterSeq?: number): { seq: number; update: Uint8Array }[];
  eventCount(doc: string): number;
  snapshot(doc: string): StoredSnapshot | undefined;
  /** Replaces the document's snapshot and drops the log events it covers, in one transaction. */
  saveSnapshot(doc: string, chunks: readonly Uint8Array[], uptoSeq: number): void;
  /**
   * Moves a log event (by `seq`) or the document's whole snapshot to the `quarantine` table,
   * in one transaction, so the next start does not trip on it again.
   */
  quarantine(doc: string, item: { kind: 'event'; seq: number } | { kind: 'snapshot' }, error: string): void;
  quarantined(doc?: string): QuarantinedRecord[];
  /**
   * Runs `fn` in one SQLite transaction: every write it makes (events included) lands, or none.
   * `flush: false` as for `appendEvent`. Inside another transaction, `fn` runs as part of that one,
   * whose commit decides.
   */
  transaction(fn: () => void, options?: { readonly flush?: boolean }): void;
  /** Inserts or updates an attempt (keyed by task, attempt, agent). */
  recordAttempt(record: AttemptRecord): void;
  attempts(task?: string): AttemptRecord[];
  /** Inserts or updates how a task ended; `finishedAt` stays the first one recorded. */
  recordResult(record: TaskResultRecord): void;
  result(task: string): TaskResultRecord | undefined;
  /**
   * Deletes archive rows of tasks that finished before `before` (attempts by their end, or their
   * start when they never reported one; results by when they were seen finishing), at most
   * `limit` rows per table, oldest first. Returns how many rows went.
   */
  pruneArchive(before: number, limit: number): number;
  close(): void;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  doc TEXT NOT NULL,
  bytes BLOB NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS events_doc ON events (doc, seq);
CREATE TABLE IF NOT EXISTS snapshots (
  doc TEXT NOT NULL,
  chunk INTEGER NOT NULL,
  upto_seq INTEGER NOT NULL,
  bytes BLOB NOT NULL,
  PRIMARY KEY (doc, chunk)
) STRICT;
CREATE TABLE IF NOT EXISTS task_history (
  task TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  agent TEXT NOT NULL,
  epoch INTEGER NOT NULL,
  started_at INTEGER NOT NULL,
  ended_at INTEGER,
  outcome TEXT NOT NULL,
  PRIMARY KEY (task, attempt, agent)
) STRICT;
CREATE TABLE IF NOT EXISTS task_results (
  task TEXT PRIMARY KEY,
  status TEXT NOT NULL,
  result TEXT,
  error TEXT,
  finished_at INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS quarantine (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  doc TEXT NOT NULL,
  kind TEXT NOT NULL,
  seq INTEGER NOT NULL,
  bytes BLOB NOT NULL,
  error TEXT NOT NULL,
  at INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS task_history_age ON task_history (coalesce(ended_at, started_at));
CREATE INDEX IF NOT EXISTS task_results_age ON task_results (finished_at);
`;

type Row = Record<string, unknown>;

function bytes(v: unknown): Uint8Array {
  return v instanceof Uint8Array ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength) : new Uint8Array();
}

export function openStore(dataDir: string, options: { sync?: 'full' | 'normal' } = {}): NodeStore {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, 'meshwork.db');
  const db = new DatabaseSync(path);
  db.exec('PRAGMA journal_mode = WAL');
  db.exec(`PRAGMA synchronous = ${options.sync === 'normal' ? 'NORMAL' : 'FULL'}`);
  db.exec('PRAGMA busy_timeout = 5000');
  db.exec(SCHEMA);

  const stmt = (sql: string): StatementSync => db.prepare(sql);
  const getMeta = stmt('SELECT value FROM meta WHERE key = ?');
  const setMeta = stmt(
    'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
  );
  const append = stmt('INSERT INTO events (doc, bytes) VALUES (?, ?)');
  const eventsAfter = stmt('SELECT seq, bytes FROM events WHERE doc = ? AND seq > ? ORDER BY seq');
  const countEvents = stmt('SELECT count(*) AS n FROM events WHERE doc = ?');
  const snapshotRows = stmt('SELECT chunk, upto_seq, bytes FROM snapshots WHERE doc = ? ORDER BY chunk');
  const dropSnapshot = stmt('DELETE FROM snapshots WHERE doc = ?');
  const putChunk = stmt('INSERT INTO snapshots (doc, chunk, upto_seq, bytes) VALUES (?, ?, ?, ?)');
  const dropEvents = stmt('DELETE FROM events WHERE doc = ? AND seq <= ?');
  const quarantineEvent = stmt(`
    INSERT INTO quarantine (doc, kind, seq, bytes, error, at)
    SELECT doc, 'event', seq, bytes, ?, ? FROM events WHERE doc = ? AND seq = ?`);
  const deleteEvent = stmt('DELETE FROM events WHERE doc = ? AND seq = ?');
  const quarantineSnapshot = stmt(`
    INSERT INTO quarantine (doc, kind, seq, bytes, error, at)
    SELECT doc, 'snapshot', chunk, bytes, ?, ? FROM snapshots WHERE doc = ? ORDER BY chunk`);
  const allQuarantined = stmt('SELECT * FROM quarantine ORDER BY id');
  const docQuarantined = stmt('SELECT * FROM quarantine WHERE doc = ? ORDER BY id');
  const upsertAttempt = stmt(`
    INSERT INTO task_history (task, attempt, agent, epoch, started_at, ended_at, outcome)
    VALUES (?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (task, attempt, agent) DO UPDATE SET
      epoch = excluded.epoch, started_at = excluded.started_at,
      ended_at = excluded.ended_at, outcome = excluded.outcome`);
  const allAttempts = stmt('SELECT * FROM task_history ORDER BY started_at, task, attempt');
  const taskAttempts = stmt('SELECT * FROM task_history WHERE task = ? ORDER BY attempt');
  // The first time a task was seen finished is kept: a restart reports its tasks finished again.
  const upsertResult = stmt(`
    INSERT INTO task_results (task, status, result, error, finished_at) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (task) DO UPDATE SET
      status = excluded.status, result = excluded.result, error = excluded.error`);
  const taskResult = stmt('SELECT * FROM task_results WHERE task = ?');
  const pruneAttempts = stmt(`
    DELETE FROM task_history WHERE rowid IN (
      SELECT rowid FROM task_history WHERE coalesce(ended_at, started_at) < ?
      ORDER BY coalesce(ended_at, started_at) LIMIT ?)`);
  const pruneResults = stmt(`
    DELETE FROM task_results WHERE rowid IN (
      SELECT rowid FROM task_results WHERE finished_at < ? ORDER BY finished_at LIMIT ?)`);

  const toAttempt = (r: Row): AttemptRecord => ({
    task: String(r.task),
    attempt: Number(r.attempt),
    agent: String(r.agent),
    epoch: Number(r.epoch),
    startedAt: Number(r.started_at),
    endedAt: r.ended_at === null ? null : Number(r.ended_at),
    outcome: String(r.outcome),
  });

  let inTx = false;
  // SQLite refuses to change `synchronous` inside a transaction; there the commit decides.
  const committed = <T>(flush: boolean | undefined, fn: () => T): T => {
    if (flush !== false || options.sync === 'normal' || inTx) return fn();
    db.exec('PRAGMA synchronous = NORMAL');
    try {
      return fn();
    } finally {
      db.exec('PRAGMA synchronous = FULL');
    }
  };
  const transaction = (fn: () => void, opts?: { readonly flush?: boolean }): void => {
    // A transaction opened inside another (a Document event written while the daemon's own
    // transaction runs) is part of it: its writes land or roll back with the outer one.
    if (inTx) return fn();
    committed(opts?.flush, () => {
      inTx = true;
      try {
        inTransaction(db, fn);
      } finally {
        inTx = false;
      }
    });
  };

  return {
    path,
    getMeta(key) {
      const row = getMeta.get(key) as Row | undefined;
      return row ? bytes(row.value) : undefined;
    },
    setMeta(key, value) {
      setMeta.run(key, value);
    },
    appendEvent(doc, update, opts) {
      return committed(opts?.flush, () => Number(append.run(doc, update).lastInsertRowid));
    },
    events(doc, afterSeq = 0) {
      return (eventsAfter.all(doc, afterSeq) as Row[]).map((r) => ({
        seq: Number(r.seq),
        update: bytes(r.bytes),
      }));
    },
    eventCount(doc) {
      return Number((countEvents.get(doc) as Row).n);
    },
    snapshot(doc) {
      const rows = snapshotRows.all(doc) as Row[];
      if (rows.length === 0) return undefined;
      return { chunks: rows.map((r) => bytes(r.bytes)), uptoSeq: Number(rows[0]!.upto_seq) };
    },
    saveSnapshot(doc, chunks, uptoSeq) {
      transaction(() => {
        dropSnapshot.run(doc);
        chunks.forEach((chunk, i) => putChunk.run(doc, i, uptoSeq, chunk));
        dropEvents.run(doc, uptoSeq);
      });
    },
    quarantine(doc, item, error) {
      const at = Date.now();
      transaction(() => {
        if (item.kind === 'event') {
          quarantineEvent.run(error, at, doc, item.seq);
          deleteEvent.run(doc, item.seq);
        } else {
          quarantineSnapshot.run(error, at, doc);
          dropSnapshot.run(doc);
        }
      });
    },
    quarantined(doc) {
      const rows = (doc === undefined ? allQuarantined.all() : docQuarantined.all(doc)) as Row[];
      return rows.map((r) => ({
        doc: String(r.doc),
        kind: r.kind === 'snapshot' ? 'snapshot' : 'event',
        seq: Number(r.seq),
        bytes: bytes(r.bytes),
        error: String(r.error),
        at: Number(r.at),
      }));
    },
    transaction,
    recordAttempt(r) {
      upsertAttempt.run(r.task, r.attempt, r.agent, r.epoch, r.startedAt, r.endedAt, r.outcome);
    },
    attempts(task) {
      const rows = (task === undefined ? allAttempts.all() : taskAttempts.all(task)) as Row[];
      return rows.map(toAttempt);
    },
    recordResult(r) {
      // Stored as JSON text, so operators can read it with SQLite's JSON functions.
      const result = r.result === null ? null : JSON.stringify(r.result);
      upsertResult.run(r.task, r.status, result, r.error, r.finishedAt);
    },
    pruneArchive(before, limit) {
      let removed = 0;
      transaction(() => {
        removed += Number(pruneAttempts.run(before, limit).changes);
        removed += Number(pruneResults.run(before, limit).changes);
      });
      return removed;
    },
    result(task) {
      const r = taskResult.get(task) as Row | undefined;
      if (r === undefined) return undefined;
      return {
        task: String(r.task),
        status: String(r.status),
        result: typeof r.result === 'string' ? (JSON.parse(r.result) as unknown) : null,
        error: typeof r.error === 'string' ? r.error : null,
        finishedAt: Number(r.finished_at),
      };
    },
    close() {
      if (db.isOpen) db.close();
    },
  };
}
