import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fingerprint, Fingerprints } from '../../src/document/fingerprints.ts';

describe('Fingerprints', () => {
  it('behaves as a map from dots to fingerprints, whatever the seqs', () => {
    const seq = fc.oneof(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 2 ** 48 }));
    const op = fc.record({
      del: fc.boolean(),
      replica: fc.constantFrom('a', 'b'),
      seq,
      bytes: fc.uint8Array({ maxLength: 8 }),
    });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const prints = new Fingerprints();
        const model = new Map<string, number>();
        for (const o of ops) {
          const key = `${o.replica} ${o.seq}`;
          if (o.del) {
            prints.delete(o.replica, o.seq);
            model.delete(key);
          } else {
            const p = fingerprint(o.bytes);
            prints.set(o.replica, o.seq, p);
            model.set(key, p);
          }
        }
        for (const o of ops) expect(prints.get(o.replica, o.seq)).toBe(model.get(`${o.replica} ${o.seq}`));
      }),
    );
  });

  it('never stores 0, which stands for none', () => {
    fc.assert(fc.property(fc.uint8Array(), (bytes) => fingerprint(bytes) !== 0));
  });
});
