import { describe, expect, it } from 'vitest';
import { createDocument } from '@meshwork/core';
import { EventLogError, persistDocument } from '../src/persistence.ts';
import { openStore } from '../src/store.ts';
import { tempDir } from './support/processes.ts';

describe('document persistence', () => {
  it('has each change in SQLite before later listeners (the transport, the caller) see it', () => {
    const store = openStore(tempDir('persist-order'));
    const doc = createDocument({ replica: 'r1', name: 'd' });
    persistDocument(doc, store);
    const seenInStore: number[] = [];
    doc.on('change', () => seenInStore.push(store.eventCount('d')));
    doc.orset<string>('set').add('a');
    doc.orset<string>('set').add('b');
    expect(seenInStore).toEqual([1, 2]);
    expect(store.eventCount('d')).toBe(2);
    store.close();
  });

  it('flushes this replica’s events one by one and writes a peer’s with the rest of the turn, unflushed', async () => {
    const store = openStore(tempDir('persist-flush'));
    const commits: { flush: boolean; events: number }[] = [];
    const transaction = store.transaction.bind(store);
    store.transaction = (fn, options) => {
      const before = store.eventCount('d');
      transaction(fn, options);
      commits.push({ flush: options?.flush ?? true, events: store.eventCount('d') - before });
    };
    const doc = createDocument({ replica: 'r1', name: 'd' });
    const peer = createDocument({ replica: 'r2', name: 'd' });
    persistDocument(doc, store);
    peer.on('change', (e) => doc.apply(e.update));
    doc.orset<string>('set').add('mine');
    peer.orset<string>('set').add('theirs');
    peer.orset<string>('set').add('theirs too');
    // The peer's two wait for the end of the turn...
    expect(store.eventCount('d')).toBe(1);
    await new Promise((r) => setImmediate(r));
    // ...and go in one commit that does not wait for the disk.
    expect(commits).toEqual([
      { flush: true, events: 1 },
      { flush: false, events: 2 },
    ]);
    // A peer's event still waiting goes first, in this replica's next flushed commit.
    peer.orset<string>('set').add('theirs again');
    doc.orset<string>('set').add('mine too');
    expect(commits.at(-1)).toEqual({ flush: true, events: 2 });
    const logged = store.events('d').map((e) => {
      const one = createDocument({ replica: 'x', name: 'd' });
      one.apply(e.update);
      return one.orset<string>('set').values().join();
    });
    expect(logged).toEqual(['mine', 'theirs', 'theirs too', 'theirs again', 'mine too']);
    await new Promise((r) => setImmediate(r));
    expect(commits).toHaveLength(3);
    store.close();
  });

  it('writes peers’ events still waiting when it compacts or detaches', () => {
    const dir = tempDir('persist-waiting');
    let store = openStore(dir);
    let doc = createDocument({ replica: 'r1', name: 'd' });
    const peer = createDocument({ replica: 'r2', name: 'd' });
    peer.on('change', (e) => doc.apply(e.update));
    let persistence = persistDocument(doc, store);
    peer.lww<number>('a').set(1);
    persistence.compact();
    expect(store.snapshot('d')?.uptoSeq).toBe(1);
    peer.lww<number>('b').set(2);
    persistence.detach();
    store.close();

    store = openStore(dir);
    doc = createDocument({ replica: 'r1', name: 'd' });
    persistence = persistDocument(doc, store);
    expect(doc.lww<number>('a').get()).toBe(1);
    expect(doc.lww<number>('b').get()).toBe(2);
    persistence.detach();
    store.close();
  });

  it('restores local and remote changes, across compactions, and keeps writing after restore', () => {
    const dir = tempDir('persist');
    const remote = createDocument({ replica: 'r2', name: 'd' });
    let store = openStore(dir);
    let doc = createDocument({ replica: 'r1', name: 'd' });
    let persistence = persistDocument(doc, store, { compactAfterEvents: 10 });
    remote.on('change', (e) => doc.apply(e.update));
    for (let i = 0; i < 25; i++) {
      doc.lww<number>(`k${i}`).set(i);
      remote.pncounter('count').increment(1);
    }
    persistence.compact();
    doc.orset<string>('after').add('x');
    persistence.detach();
    store.close();

    store = openStore(dir);
    expect(store.snapshot('d')).toBeDefined();
    expect(store.eventCount('d')).toBe(1);
    doc = createDocument({ replica: 'r1', name: 'd' });
    persistence = persistDocument(doc, store);
    expect(doc.lww<number>('k24').get()).toBe(24);
    expect(doc.pncounter('count').value).toBe(25);
    expect(doc.orset<string>('after').has('x')).toBe(true);
    // New local events continue the replica's sequence instead of reusing dots.
    doc.orset<string>('after').add('y');
    const peer = createDocument({ replica: 'r3', name: 'd' });
    for (const chunk of doc.snapshot()) peer.apply(chunk);
    expect(peer.orset<string>('after').values().sort()).toEqual(['x', 'y']);
    expect(peer.pncounter('count').value).toBe(25);
    persistence.detach();
    store.close();
  });

  it('persists a snapshot received from a peer and restores from it', () => {
    const dir = tempDir('persist-snapshot');
    const peer = createDocument({ replica: 'p', name: 'd', log: { maxEvents: 0 } });
    for (let i = 0; i < 50; i++) peer.lww<number>(`k${i}`).set(i);
    let store = openStore(dir);
    let doc = createDocument({ replica: 'r1', name: 'd' });
    let persistence = persistDocument(doc, store);
    // The peer's log no longer covers us, so it sends its state as a snapshot.
    expect(peer.changesSince(doc.digest()).covered).toBe(false);
    for (const chunk of peer.snapshot({ maxChunkBytes: 256 })) doc.apply(chunk);
    expect(doc.lww<number>('k49').get()).toBe(49);
    persistence.detach();
    store.close();

    store = openStore(dir);
    doc = createDocument({ replica: 'r1', name: 'd' });
    persistence = persistDocument(doc, store);
    expect(doc.lww<number>('k0').get()).toBe(0);
    expect(doc.lww<number>('k49').get()).toBe(49);
    persistence.detach();
    store.close();
  });

  it('refuses the event it cannot write, and every later one, before any later listener sees them', () => {
    const store = openStore(tempDir('persist-fail'));
    const doc = createDocument({ replica: 'r1', name: 'd' });
    const failures: unknown[] = [];
    persistDocument(doc, store, { onWriteError: (err) => failures.push(err) });
    const later: string[] = [];
    doc.on('change', () => later.push(`after ${failures.length} failures`));
    doc.orset<string>('s').add('durable');
    store.close();
    expect(() => doc.orset<string>('s').add('not durable')).toThrow(EventLogError);
    expect(() => doc.orset<string>('s').add('after the failure')).toThrow(EventLogError);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toBeInstanceOf(EventLogError);
    // The later listener (the transport, in the daemon) saw the stored event only.
    expect(later).toEqual(['after 0 failures']);
  });
});
