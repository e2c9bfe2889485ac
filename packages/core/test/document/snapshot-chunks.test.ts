import { describe, expect, it } from 'vitest';
import { createDocument, lww, type Document } from '../../src/index.ts';
import { packedSlots } from '../../src/causal/packed-dot.ts';
import { fingerprint } from './fingerprint.ts';

function populated(): Document {
  const a = createDocument({ replica: 'a', name: 'n' });
  const tasks = a.ormap('tasks', lww());
  for (let i = 0; i < 40; i++) tasks.get(`task-${i}`).set({ title: `task number ${i}`, n: i });
  return a;
}

describe('snapshot chunks', () => {
  it('assemble side by side when the same state was cut at two chunk sizes', () => {
    const a = populated();
    const small = a.snapshot({ maxChunkBytes: 200 });
    const large = a.snapshot({ maxChunkBytes: 700 });
    expect(small.length).toBeGreaterThan(large.length);
    const b = createDocument({ replica: 'b', name: 'n' });
    // Interleaved, as when two peers answer the same gap.
    for (let i = 0; i < small.length - 1; i++) {
      b.apply(small[i] as Uint8Array);
      if (i < large.length - 1) b.apply(large[i] as Uint8Array);
    }
    expect(b.apply(large[large.length - 1] as Uint8Array).snapshotComplete).toBe(true);
    expect(b.ormap('tasks', lww()).size).toBe(40);
    expect(b.apply(small[small.length - 1] as Uint8Array).snapshotComplete).toBe(true);
  });

  it('refuse a corrupted chunk as it arrives and still assemble from the honest ones', () => {
    const a = populated();
    const chunks = a.snapshot({ maxChunkBytes: 300 });
    const bad = (chunks[0] as Uint8Array).slice();
    bad[bad.byteLength - 5] = (bad[bad.byteLength - 5] as number) ^ 0xff; // a byte of the piece
    const b = createDocument({ replica: 'b', name: 'n' });
    const check = fingerprint(b);
    expect(() => b.apply(bad)).toThrow(/chunk 0 of \d+ is corrupt/);
    check();
    for (const chunk of chunks.slice(1)) expect(b.apply(chunk).snapshotComplete).toBe(false);
    expect(b.apply(chunks[0] as Uint8Array).snapshotComplete).toBe(true);
    expect(b.ormap('tasks', lww()).size).toBe(40);
  });

  it('take no packed-dot slots for messages that are refused', () => {
    const b = createDocument({ replica: 'b', name: 'n' });
    const writer = createDocument({ replica: 'stranger-00', name: 'n' });
    let update: Uint8Array = new Uint8Array();
    writer.on('change', (e) => (update = e.update));
    writer.orset('s').add('x');
    const id = new TextEncoder().encode('stranger-00');
    const at = update.findIndex((_, i) => id.every((c, j) => update[i + j] === c));
    const before = packedSlots();
    for (let i = 1; i < 80; i++) {
      // The same event under replica ids this process has never seen, then a stray byte:
      // decoded in full, then refused.
      const refused = new Uint8Array([...update, 0]);
      refused.set(new TextEncoder().encode(`stranger-${String(i).padStart(2, '0')}`), at);
      expect(() => b.apply(refused)).toThrow(/^trailing_bytes/);
    }
    expect(packedSlots()).toBe(before);
  });
});
