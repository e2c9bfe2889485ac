import { describe, expect, it } from 'vitest';
import {
  createDocument,
  defaultDecodeLimits,
  encodeDigest,
  LimitExceededError,
  lww,
  type DecodeLimits,
  type Document,
} from '../../src/index.ts';

const limits: DecodeLimits = { ...defaultDecodeLimits, maxMessageBytes: 4096 };
const make = (replica: string): Document => createDocument({ replica, name: 'tx', limits });
const big = (i: number): string => String(i).repeat(1200);

/** The writes of one transaction, through a register, a set and a nested map value. */
function write(doc: Document, i: number): void {
  if (i % 3 === 0) doc.lww<string>(`r${i}`).set(big(i));
  else if (i % 3 === 1) doc.orset<string>('s').add(big(i));
  else doc.ormap('m', lww<string>()).get(`k${i}`).set(big(i));
}

describe('events within maxMessageBytes', () => {
  it('refuses the write that would take a transaction past maxMessageBytes, before it changes anything', () => {
    const a = make('a');
    const sent: Uint8Array[] = [];
    a.on('change', (e) => sent.push(e.update));
    let done = 0;
    let error: unknown;
    try {
      a.transact(() => {
        for (let i = 0; i < 10; i++) {
          write(a, i);
          done++;
        }
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(LimitExceededError);
    expect((error as LimitExceededError).limit).toBe('maxMessageBytes');
    // Three writes of ~1.2 KB fit a 4 KiB event; the fourth is refused and leaves its member empty.
    expect(done).toBe(3);
    expect(a.lww('r3').get()).toBeUndefined();
    // The writes before it are kept and published as one event, as for any throw in `transact`.
    expect(a.lww('r0').get()).toBe(big(0));
    expect(a.orset('s').values()).toEqual([big(1)]);
    expect(sent).toHaveLength(1);
    // A refused write outside a transaction makes no event and leaves its member as it was
    // (the clock reading it took is all that moves).
    const r9 = a.lww<string>('r9');
    const digest = encodeDigest(a.digest());
    expect(() => r9.set('x'.repeat(4090))).toThrow(LimitExceededError);
    expect(encodeDigest(a.digest())).toEqual(digest);
    expect(r9.get()).toBeUndefined();
    expect(sent).toHaveLength(1);
    r9.set('after');
    // Every event the document emitted applies on a fresh peer with the same limits.
    const b = make('b');
    for (const update of sent) {
      expect(update.byteLength).toBeLessThanOrEqual(limits.maxMessageBytes);
      b.apply(update);
    }
    expect(b.lww('r0').get()).toBe(big(0));
    expect(b.orset('s').values()).toEqual([big(1)]);
    expect(b.ormap('m', lww<string>()).get('k2').get()).toBe(big(2));
    expect(b.lww('r3').get()).toBeUndefined();
    expect(b.lww('r9').get()).toBe('after');
  });
});
