import { describe, expect, it } from 'vitest';
import { createDocument, DecodeError, EquivocationError, type Document } from '../../src/index.ts';
import { updateFromRecords } from '../../src/document/update.ts';
import { fingerprint, restore } from './fingerprint.ts';

const make = (replica: string, startSeq?: number): Document =>
  createDocument({ replica, name: 'n', ...(startSeq !== undefined && { startSeq }) });

/** Collects the updates `doc` publishes. */
function published(doc: Document): Uint8Array[] {
  const out: Uint8Array[] = [];
  doc.on('change', (e) => {
    if (e.local) out.push(e.update);
  });
  return out;
}

describe('one replica id, two writers', () => {
  it('refuses an event whose dot is known with other content, and counts it', () => {
    const twin1 = make('a');
    const twin2 = make('a');
    const peer = make('p');
    const [u1, u2] = [published(twin1), published(twin2)];
    twin1.lww('x').set('from twin 1');
    twin2.lww('x').set('from twin 2');
    peer.apply(u1[0] as Uint8Array);
    peer.apply(u1[0] as Uint8Array); // a plain duplicate is fine
    const check = fingerprint(peer);
    const error = (() => {
      try {
        peer.apply(u2[0] as Uint8Array);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(EquivocationError);
    expect((error as DecodeError).code).toBe('equivocation');
    expect((error as EquivocationError).seq).toBe(1);
    check();
    expect(peer.equivocations).toBe(1);
    expect(peer.lww('x').get()).toBe('from twin 1');
  });

  it('refuses a message carrying one dot twice with different content', () => {
    const twin1 = make('a');
    const twin2 = make('a');
    const peer = make('p');
    const [u1, u2] = [published(twin1), published(twin2)];
    twin1.orset('s').add(1);
    twin2.orset('s').add(2);
    const both = updateFromRecords([u1, u2].map((u) => (u[0] as Uint8Array).subarray(3)));
    const check = fingerprint(peer);
    expect(() => peer.apply(both)).toThrow(EquivocationError);
    check();
  });
});

describe('restarts never reuse a seq', () => {
  it('a restored Document continues after its events; one restarted empty, after startSeq', () => {
    const a = make('a');
    const peer = make('p');
    a.on('change', (e) => peer.apply(e.update));
    a.lww('x').set(1);
    // Restored from its own snapshot: nothing to pass, it continues from its context.
    const restored = restore(a, () => make('a'));
    restored.on('change', (e) => peer.apply(e.update));
    restored.lww('x').set(2);
    expect(peer.digest().contiguous('a')).toBe(2);
    // The state is lost; a peer's digest says where this replica's seqs stand.
    const fresh = make('a', peer.digest().nextSeq('a') - 1);
    const out = published(fresh);
    fresh.lww('y').set('after restart');
    expect(peer.apply(out[0] as Uint8Array).events).toBe(1);
    expect(peer.lww('y').get()).toBe('after restart');
    expect(peer.digest().contiguous('a')).toBe(3);
    expect(peer.equivocations).toBe(0);
  });
});
