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

  it('flushes this replica’s events to disk one by one and lets a peer’s ride on the next flush', () => {
    const store = openStore(tempDir('persist-flush'));
    const flushed: boolean[] = [];
    const append = store.appendEvent.bind(store);
    store.appendEvent = (doc, update, options) => {
      flushed.push(options?.flush ?? true);
      return append(doc, update, options);
    };
    const doc = createDocument({ replica: 'r1', name: 'd' });
    const peer = createDocument({ replica: 'r2', name: 'd' });
    persistDocument(doc, store);
    peer.on('change', (e) => doc.apply(e.update));
    doc.orset<string>('set').add('mine');
    peer.orset<string>('set').add('theirs');
    doc.orset<string>('set').add('mine too');
    expect(flushed).toEqual([true, false, true]);
    expect(store.eventCount('d')).toBe(3);
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
