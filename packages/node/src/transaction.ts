import type { DatabaseSync } from 'node:sqlite';

/** Runs `fn` in one write transaction of `db`: all of its writes land, or none does. */
export function inTransaction(db: DatabaseSync, fn: () => void): void {
  db.exec('BEGIN IMMEDIATE');
  try {
    fn();
    db.exec('COMMIT');
  } catch (err) {
    db.exec('ROLLBACK');
    throw err;
  }
}
