import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CausalContext, DecodeError } from '../../src/index.ts';
import { Reader, Writer } from '../../src/internal.ts';

function roundTrip(ctx: CausalContext): CausalContext {
  const w = new Writer();
  ctx.encode(w);
  const r = new Reader(w.finish());
  const out = CausalContext.decode(r);
  r.end();
  return out;
}

const dot = fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.integer({ min: 1, max: 12 }));

describe('CausalContext', () => {
  it('keeps out-of-order dots in the cloud until the gap closes', () => {
    const ctx = new CausalContext();
    ctx.add('a', 1);
    ctx.add('a', 3);
    expect(ctx.has('a', 2)).toBe(false);
    expect(ctx.has('a', 3)).toBe(true);
    expect(ctx.contiguous('a')).toBe(1);
    ctx.add('a', 2);
    expect(ctx.contiguous('a')).toBe(3);
    expect(ctx.nextSeq('a')).toBe(4);
  });

  it('next seq skips past cloud dots', () => {
    const ctx = new CausalContext();
    ctx.add('a', 5);
    expect(ctx.nextSeq('a')).toBe(6);
    expect(ctx.nextDot('b')).toEqual({ replica: 'b', seq: 1 });
  });

  it('behaves as the set of dots added, and encodes canonically', () => {
    fc.assert(
      fc.property(fc.array(dot), fc.array(dot), (xs, ys) => {
        const a = new CausalContext();
        const b = new CausalContext();
        const model = new Set<string>();
        for (const [r, s] of xs) {
          expect(a.add(r, s)).toBe(!model.has(`${r}:${s}`));
          model.add(`${r}:${s}`);
        }
        for (const [r, s] of ys) b.add(r, s);
        const joined = a.clone();
        const changed = joined.join(b);
        for (const [r, s] of ys) model.add(`${r}:${s}`);
        for (const r of ['a', 'b', 'c']) {
          for (let s = 1; s <= 13; s++) expect(joined.has(r, s)).toBe(model.has(`${r}:${s}`));
        }
        expect(joined.size).toBe(model.size);
        expect(changed).toBe(!a.covers(b));
        expect(joined.covers(a) && joined.covers(b)).toBe(true);
        // Order of insertion does not change the encoding.
        const other = b.clone();
        other.join(a);
        const enc = (c: CausalContext): string => {
          const w = new Writer();
          c.encode(w);
          return Buffer.from(w.finish()).toString('hex');
        };
        expect(enc(other)).toBe(enc(joined));
        expect(roundTrip(joined).equals(joined)).toBe(true);
        expect([...joined.dots()].length).toBe(model.size);
      }),
      { numRuns: 200 },
    );
  });

  it('small contexts (one replica, one dot past a gap) keep every query of the set of dots', () => {
    const small = fc.array(fc.tuple(fc.constantFrom('a', 'b'), fc.integer({ min: 1, max: 5 })), {
      maxLength: 4,
    });
    fc.assert(
      fc.property(small, small, (xs, ys) => {
        const a = new CausalContext();
        const b = new CausalContext();
        const model = new Set<string>();
        for (const [r, s] of xs) a.add(r, s);
        for (const [r, s] of ys) b.add(r, s);
        for (const [r, s] of [...xs, ...ys]) model.add(`${r}:${s}`);
        const fromA = a.clone();
        expect(fromA.join(b)).toBe(!a.covers(b));
        const fromB = b.clone();
        fromB.join(a);
        for (const joined of [fromA, fromB, roundTrip(fromA)]) {
          for (const r of ['a', 'b']) {
            let next = 1;
            let prefix = 0;
            for (let s = 1; s <= 6; s++) {
              const present = model.has(`${r}:${s}`);
              expect(joined.has(r, s)).toBe(present);
              if (present) next = s + 1;
              if (present && prefix === s - 1) prefix = s;
            }
            expect(joined.nextSeq(r)).toBe(next);
            expect(joined.contiguous(r)).toBe(prefix);
          }
          expect(joined.size).toBe(model.size);
          expect(joined.isEmpty).toBe(model.size === 0);
          expect(joined.equals(fromA)).toBe(true);
        }
        const enc = (c: CausalContext, flag: boolean): string => {
          const w = new Writer();
          c.encode(w, flag);
          return Buffer.from(w.finish()).toString('hex');
        };
        expect(enc(fromB, true)).toBe(enc(fromA, true));
        const r = new Reader(Buffer.from(enc(fromA, true), 'hex'));
        const decoded = CausalContext.decodeFlagged(r);
        expect(decoded.flag).toBe(true);
        expect(decoded.ctx.equals(fromA)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('rejects malformed encodings with DecodeError only', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        try {
          CausalContext.decode(new Reader(bytes));
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('CausalContext bounds', () => {
  it('compares against a huge remote vector without walking it', () => {
    const huge = new CausalContext();
    huge.add('a', 1);
    const w = new Writer();
    huge.encode(w);
    const bytes = w.finish();
    // A context whose vector top is 2^47, encoded by hand.
    const forged = new Writer();
    forged.uint(2); // one replica, no flag
    forged.replica('a');
    forged.uint(2 ** 47);
    forged.uint(0);
    const big = CausalContext.decode(new Reader(forged.finish()));
    const small = CausalContext.decode(new Reader(bytes));
    small.add('a', 3);
    expect(small.covers(big)).toBe(false);
    expect(big.covers(small)).toBe(true);
  });
});
