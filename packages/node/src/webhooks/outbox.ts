import { DatabaseSync } from 'node:sqlite';
import type { WebhookEvent } from './events.ts';
import { inTransaction } from '../transaction.ts';

/** An event waiting for delivery to one webhook. */
export interface OutboxRow {
  readonly id: number;
  readonly hook: string;
  readonly eventId: string;
  readonly type: string;
  readonly body: string;
  /** Deliveries tried so far. */
  readonly attempts: number;
}

/**
 * The `webhook_outbox` table of the node's database: one row per event and webhook, `pending`
 * until delivered (`delivered`) or given up (`failed`). Finished rows stay until pruned, so an
 * event derived again after a restart is recognised and not sent twice.
 */
export interface Outbox {
  /** Records an event for a webhook; false when it was recorded before. */
  add(hook: string, event: WebhookEvent, now: number): boolean;
  has(hook: string, eventId: string): boolean;
  /** Runs `fn` in one transaction (one commit for a batch of events). */
  transaction(fn: () => void): void;
  /** Pending rows of a webhook due by `now`, oldest due first. */
  due(hook: string, now: number, limit: number): OutboxRow[];
  /** When the webhook's next pending row is due; undefined when none is pending. */
  nextDue(hook: string): number | undefined;
  delivered(id: number, attempts: number, now: number): void;
  retry(id: number, attempts: number, nextAt: number, error: string): void;
  gaveUp(id: number, attempts: number, now: number, error: string): void;
  pending(hook: string): number;
  /** Deletes the pending rows of webhooks no longer configured; returns how many per webhook. */
  dropOthers(hooks: readonly string[]): Map<string, number>;
  /** Deletes finished rows done before `before`, at most `limit`; returns how many. */
  prune(before: number, limit: number): number;
  close(): void;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS webhook_outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  hook TEXT NOT NULL,
  event_id TEXT NOT NULL,
  type TEXT NOT NULL,
  body TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'pending',
  attempts INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  next_at INTEGER NOT NULL,
  done_at INTEGER,
  last_error TEXT,
  UNIQUE (hook, event_id)
) STRICT;
CREATE INDEX IF NOT EXISTS webhook_outbox_due ON webhook_outbox (hook, next_at, id) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS webhook_outbox_done ON webhook_outbox (done_at) WHERE state != 'pending';
`;

type Row = Record<string, unknown>;

/**
 * Opens the outbox in the database at `path` (the node's `meshwork.db`) on a connection of its
 * own, with the same durability as the store.
 */
export function openOutbox(path: string, options: { sync?: 'full' | 'normal' } = {}): Outbox {
  const db = new DatabaseSync(path);
  db.exec(`PRAGMA synchronous = ${options.sync === 'normal' ? 'NORMAL' : 'FULL'}`);
  db.exec('PRAGMA busy_timeout = 5000');
  db.exec(SCHEMA);
  const insert = db.prepare(
    'INSERT OR IGNORE INTO webhook_outbox (hook, event_id, type, body, created_at, next_at) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const exists = db.prepare('SELECT 1 FROM webhook_outbox WHERE hook = ? AND event_id = ?');
  const due = db.prepare(`
    SELECT id, hook, event_id, type, body, attempts FROM webhook_outbox
    WHERE state = 'pending' AND hook = ? AND next_at <= ? ORDER BY next_at, id LIMIT ?`);
  const nextDue = db.prepare(
    "SELECT min(next_at) AS at FROM webhook_outbox WHERE state = 'pending' AND hook = ?",
  );
  const delivered = db.prepare(
    "UPDATE webhook_outbox SET state = 'delivered', attempts = ?, done_at = ?, last_error = NULL WHERE id = ?",
  );
  const retry = db.prepare(
    'UPDATE webhook_outbox SET attempts = ?, next_at = ?, last_error = ? WHERE id = ?',
  );
  const gaveUp = db.prepare(
    "UPDATE webhook_outbox SET state = 'failed', attempts = ?, done_at = ?, last_error = ? WHERE id = ?",
  );
  const pending = db.prepare("SELECT count(*) AS n FROM webhook_outbox WHERE state = 'pending' AND hook = ?");
  const pendingByHook = db.prepare(
    "SELECT hook, count(*) AS n FROM webhook_outbox WHERE state = 'pending' GROUP BY hook",
  );
  const dropHook = db.prepare("DELETE FROM webhook_outbox WHERE state = 'pending' AND hook = ?");
  const prune = db.prepare(`
    DELETE FROM webhook_outbox WHERE id IN (
      SELECT id FROM webhook_outbox WHERE state != 'pending' AND done_at < ? ORDER BY done_at LIMIT ?)`);

  const transaction = (fn: () => void): void => inTransaction(db, fn);

  return {
    add: (hook, event, now) => insert.run(hook, event.id, event.type, event.body, now, now).changes === 1,
    has: (hook, eventId) => exists.get(hook, eventId) !== undefined,
    transaction,
    due: (hook, now, limit) =>
      (due.all(hook, now, limit) as Row[]).map((r) => ({
        id: Number(r.id),
        hook: String(r.hook),
        eventId: String(r.event_id),
        type: String(r.type),
        body: String(r.body),
        attempts: Number(r.attempts),
      })),
    nextDue(hook) {
      const at = (nextDue.get(hook) as Row).at;
      return at === null ? undefined : Number(at);
    },
    delivered(id, attempts, now) {
      delivered.run(attempts, now, id);
    },
    retry(id, attempts, nextAt, error) {
      retry.run(attempts, nextAt, error, id);
    },
    gaveUp(id, attempts, now, error) {
      gaveUp.run(attempts, now, error, id);
    },
    pending: (hook) => Number((pending.get(hook) as Row).n),
    dropOthers(hooks) {
      const dropped = new Map<string, number>();
      transaction(() => {
        for (const r of pendingByHook.all() as Row[]) {
          const hook = String(r.hook);
          if (hooks.includes(hook)) continue;
          dropHook.run(hook);
          dropped.set(hook, Number(r.n));
        }
      });
      return dropped;
    },
    prune: (before, limit) => Number(prune.run(before, limit).changes),
    close() {
      if (db.isOpen) db.close();
    },
  };
}
