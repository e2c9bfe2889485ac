import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { openStore } from '../src/store.ts';
import { tempDir } from './support/processes.ts';

describe('SQLite store', () => {
  it('prunes archive rows of tasks finished before a time, oldest first, a bounded batch at a time', () => {
    const store = openStore(tempDir('prune'));
    const attempt = (task: string, startedAt: number, endedAt: number | null) =>
      store.recordAttempt({ task, attempt: 1, agent: 'a', epoch: 1, startedAt, endedAt, outcome: 'x' });
    const result = (task: string, finishedAt: number) =>
      store.recordResult({ task, status: 'succeeded', result: null, error: null, finishedAt });
    attempt('old', 10, 20);
    attempt('older', 5, 8);
    attempt('never-ended', 15, null);
    attempt('new', 90, 110);
    result('old', 20);
    result('older', 8);
    result('new', 110);
    // One row per table per step: the oldest attempt ('older') and the oldest result.
    expect(store.pruneArchive(100, 1)).toBe(2);
    expect(store.attempts('older')).toEqual([]);
    expect(store.result('older')).toBeUndefined();
    expect(store.attempts('old')).toHaveLength(1);
    expect(store.pruneArchive(100, 10)).toBe(3);
    expect(store.attempts().map((a) => a.task)).toEqual(['new']);
    expect(store.result('old')).toBeUndefined();
    expect(store.result('new')?.finishedAt).toBe(110);
    expect(store.pruneArchive(100, 10)).toBe(0);
    store.close();
  });

  it('keeps meta, events, snapshots and task history across reopen', () => {
    const dir = tempDir('store');
    const store = openStore(dir);
    store.setMeta('key', new Uint8Array([1, 2, 3]));
    const seqs = [1, 2, 3].map((i) => store.appendEvent('tasks', new Uint8Array([i])));
    store.appendEvent('other', new Uint8Array([9]));
    store.saveSnapshot('tasks', [new Uint8Array([7]), new Uint8Array([8])], seqs[1]!);
    store.appendEvent('tasks', new Uint8Array([4]));
    // An attempt is recorded when it starts and updated in place when it ends.
    const attempt = { task: 't1', attempt: 1, agent: 'a', epoch: 1, startedAt: 10 };
    store.recordAttempt({ ...attempt, endedAt: null, outcome: 'running' });
    store.recordAttempt({ ...attempt, endedAt: 20, outcome: 'succeeded' });
    // How a task ended; a later report of the same end keeps the first time it was seen.
    const ended = { task: 't1', status: 'succeeded', result: { out: [1, 'x'] }, error: null };
    store.recordResult({ ...ended, finishedAt: 30 });
    store.recordResult({ ...ended, finishedAt: 99 });
    store.recordResult({ task: 't2', status: 'failed', result: null, error: 'boom', finishedAt: 40 });
    store.close();

    const again = openStore(dir);
    expect(again.getMeta('key')).toEqual(new Uint8Array([1, 2, 3]));
    expect(again.getMeta('missing')).toBeUndefined();
    expect(again.snapshot('tasks')).toEqual({
      chunks: [new Uint8Array([7]), new Uint8Array([8])],
      uptoSeq: seqs[1],
    });
    expect(again.events('tasks', seqs[1]).map((e) => Array.from(e.update))).toEqual([[3], [4]]);
    expect(again.eventCount('tasks')).toBe(2);
    expect(again.eventCount('other')).toBe(1);
    expect(again.attempts('t1')).toEqual([{ ...attempt, endedAt: 20, outcome: 'succeeded' }]);
    expect(again.result('t1')).toEqual({ ...ended, finishedAt: 30 });
    expect(again.result('t2')).toEqual({
      task: 't2',
      status: 'failed',
      result: null,
      error: 'boom',
      finishedAt: 40,
    });
    expect(again.result('t3')).toBeUndefined();
    again.close();

    // The history is plain SQL for operators.
    const db = new DatabaseSync(join(dir, 'meshwork.db'), { readOnly: true });
    expect(db.prepare("SELECT outcome FROM task_history WHERE task = 't1'").all()).toEqual([
      { outcome: 'succeeded' },
    ]);
    expect(db.prepare('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' });
    db.close();
  });

  it('waits for the disk on each flushed append and on none of the unflushed ones', () => {
    const dir = tempDir('flush');
    const script = join(dir, 'append.ts');
    const storeModule = fileURLToPath(new URL('../src/store.ts', import.meta.url));
    writeFileSync(
      script,
      `import { openStore } from ${JSON.stringify(storeModule)};
const [dataDir, count, flush] = process.argv.slice(2);
const store = openStore(dataDir);
for (let i = 0; i < Number(count); i++) store.appendEvent('d', new Uint8Array([i]), { flush: flush === 'yes' });
store.close();
`,
    );
    // Counts the process's fsync and fdatasync calls, opening and closing the store included.
    const syncs = (name: string, count: number, flush: 'yes' | 'no'): number => {
      const trace = join(dir, `${name}.trace`);
      const run = spawnSync(
        'strace',
        [
          '-f',
          '-qq',
          '-e',
          'trace=fsync,fdatasync',
          '-o',
          trace,
          process.execPath,
          script,
          join(dir, name),
          String(count),
          flush,
        ],
        { encoding: 'utf8' },
      );
      if (run.error !== undefined)
        throw new Error(
          `this test counts system calls with strace: apt-get install -y strace (${run.error.message})`,
        );
      expect(run.status, run.stderr).toBe(0);
      return readFileSync(trace, 'utf8')
        .split('\n')
        .filter((l) => /f(data)?sync\(/.test(l)).length;
    };
    const none = syncs('none', 0, 'yes');
    expect(syncs('unflushed', 20, 'no')).toBe(none);
    expect(syncs('flushed', 20, 'yes')).toBeGreaterThanOrEqual(none + 20);
    const again = openStore(join(dir, 'unflushed'));
    expect(again.eventCount('d')).toBe(20);
    again.close();
  });

  it('runs a transaction opened inside another as part of it: it lands or rolls back with it', () => {
    const dir = tempDir('nested-tx');
    const store = openStore(dir);
    store.transaction(() => {
      store.appendEvent('d', new Uint8Array([1]));
      store.transaction(() => store.appendEvent('d', new Uint8Array([2])), { flush: false });
    });
    expect(() =>
      store.transaction(() => {
        store.transaction(() => store.appendEvent('d', new Uint8Array([3])));
        throw new Error('outer fails');
      }),
    ).toThrow('outer fails');
    store.close();
    const again = openStore(dir);
    expect(again.events('d').map((e) => Array.from(e.update))).toEqual([[1], [2]]);
    again.close();
  });

  it('leaves an unflushed append inside a transaction to the transaction’s commit', () => {
    const dir = tempDir('flush-tx');
    const store = openStore(dir);
    store.transaction(() => {
      store.appendEvent('d', new Uint8Array([1]), { flush: false });
      store.appendEvent('d', new Uint8Array([2]));
    });
    store.appendEvent('d', new Uint8Array([3]), { flush: false });
    store.close();
    const again = openStore(dir);
    expect(again.events('d').map((e) => Array.from(e.update))).toEqual([[1], [2], [3]]);
    again.close();
  });
});
