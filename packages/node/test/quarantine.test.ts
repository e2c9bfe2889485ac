import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDocument } from '@meshwork/core';
import { persistDocument } from '../src/persistence.ts';
import { openStore } from '../src/store.ts';
import { api, startDaemonProcess, tempDir, waitFor, type DaemonProcess } from './support/processes.ts';

const shell = (id: string) => ({ id, input: { executor: 'shell', argv: ['true'] } });

describe('restore quarantines what it cannot read', () => {
  const running: DaemonProcess[] = [];
  afterAll(() => {
    for (const d of running) d.child.kill('SIGKILL');
  });

  it('starts a data dir with an undecodable event: the row moves to quarantine, the rest is restored', async () => {
    const dir = tempDir('quarantine');
    const config = { name: 'q1' };
    const first = await startDaemonProcess(dir, config);
    running.push(first);
    for (const id of ['before-1', 'before-2'])
      expect((await api(first.info.url, '/v1/tasks', { body: shell(id) })).status).toBe(201);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    // A row the codec refuses, written straight into the stopped node's log.
    const dbFile = join(first.dataDir, 'meshwork.db');
    const db = new DatabaseSync(dbFile);
    const doc = String((db.prepare('SELECT doc FROM events LIMIT 1').get() as { doc: string }).doc);
    const badSeq = Number(
      db.prepare('INSERT INTO events (doc, bytes) VALUES (?, ?)').run(doc, new Uint8Array([1, 9, 9, 9]))
        .lastInsertRowid,
    );
    const eventsBefore = Number((db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n);
    db.close();

    const second = await startDaemonProcess(dir, config);
    running.push(second);
    const url = second.info.url;
    for (const id of ['before-1', 'before-2'])
      expect((await api<{ id: string }>(url, `/v1/tasks/${id}`)).body).toMatchObject({ id });
    // It keeps working: new submissions are accepted and stored.
    expect((await api(url, '/v1/tasks', { body: shell('after') })).status).toBe(201);
    const metrics = await api<string>(url, '/metrics');
    expect(metrics.body).toMatch(/^meshwork_quarantined_events_total\{kind="event"\} 1$/m);

    const check = new DatabaseSync(dbFile, { readOnly: true });
    expect(check.prepare('SELECT doc, kind, seq, bytes FROM quarantine').all()).toEqual([
      { doc, kind: 'event', seq: badSeq, bytes: new Uint8Array([1, 9, 9, 9]) },
    ]);
    expect(String((check.prepare('SELECT error FROM quarantine').get() as { error: string }).error)).toMatch(
      /DecodeError/,
    );
    expect(check.prepare('SELECT seq FROM events WHERE seq = ?').all(badSeq)).toEqual([]);
    expect(
      Number((check.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n),
    ).toBeGreaterThanOrEqual(eventsBefore);
    check.close();
    const log = await waitFor('the quarantine to be logged', 5_000, async () => {
      const { readFileSync } = await import('node:fs');
      const text = readFileSync(join(second.dataDir, 'daemon.log'), 'utf8');
      return text.includes('moved to quarantine') ? text : undefined;
    });
    expect(log).toContain(`"seq":${badSeq}`);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });

  it('sets aside a snapshot it cannot read and restores the log after it', () => {
    const dir = tempDir('quarantine-snapshot');
    let store = openStore(dir);
    let doc = createDocument({ replica: 'r1', name: 'd' });
    let persistence = persistDocument(doc, store);
    doc.lww<number>('in-snapshot').set(1);
    persistence.compact();
    doc.lww<number>('in-log').set(2);
    persistence.detach();
    store.close();

    const db = new DatabaseSync(join(dir, 'meshwork.db'));
    db.prepare('UPDATE snapshots SET bytes = ?').run(new Uint8Array([1, 7, 7]));
    db.close();

    store = openStore(dir);
    doc = createDocument({ replica: 'r1', name: 'd' });
    const seen: string[] = [];
    persistence = persistDocument(doc, store, { onQuarantine: (item) => seen.push(item.kind) });
    expect(seen).toEqual(['snapshot']);
    expect(persistence.quarantined).toEqual({ events: 0, snapshots: 1 });
    expect(doc.lww<number>('in-log').get()).toBe(2);
    expect(store.snapshot('d')).toBeUndefined();
    expect(store.quarantined('d').map((q) => q.kind)).toEqual(['snapshot']);
    persistence.detach();
    store.close();
  });
});
