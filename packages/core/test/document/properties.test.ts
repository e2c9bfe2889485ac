import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createDocument,
  DecodeError,
  decodeDigest,
  encodeDigest,
  mergeUpdates,
  type Document,
} from '../../src/index.ts';
import { chunkSnapshot, decodeSnapshotChunk } from '../../src/document/snapshot-chunks.ts';
import {
  antiEntropy,
  fingerprint,
  newDoc,
  shuffled,
  snapshotOf,
  transact,
  txArb,
  view,
  type Op,
} from './harness.ts';

const RUNS = { numRuns: 60 };

/** A document built by `txs` on replica `replica`, and the update messages it produced. */
function built(
  replica: string,
  txs: readonly (readonly Op[])[] = [],
): { doc: Document; updates: Uint8Array[] } {
  const doc = newDoc(replica);
  const updates = txs.flatMap((tx) => transact(doc, tx));
  return { doc, updates };
}

/** A fresh document with every message applied in order. */
function merged(...messages: readonly Uint8Array[][]): Document {
  const doc = newDoc('observer');
  for (const list of messages) for (const m of list) doc.apply(m);
  return doc;
}

const historyArb = fc.array(txArb, { maxLength: 6 });

describe('Document merge (apply) is a join', () => {
  it('is commutative, associative and idempotent on whole states', () => {
    fc.assert(
      fc.property(historyArb, historyArb, historyArb, (ta, tb, tc) => {
        const a = snapshotOf(built('A', ta).doc);
        const b = snapshotOf(built('B', tb).doc);
        const c = snapshotOf(built('C', tc).doc);
        expect(fingerprint(merged(a, b))).toBe(fingerprint(merged(b, a)));
        const ab = snapshotOf(merged(a, b));
        const bc = snapshotOf(merged(b, c));
        expect(fingerprint(merged(ab, c))).toBe(fingerprint(merged(a, bc)));
        expect(fingerprint(merged(a, a))).toBe(fingerprint(merged(a)));
        expect(fingerprint(merged(ab, a, b))).toBe(fingerprint(merged(ab)));
      }),
      RUNS,
    );
  });

  it('gives the same state for update messages applied in any order, any number of times', () => {
    fc.assert(
      fc.property(historyArb, historyArb, fc.array(fc.nat(), { minLength: 1 }), (ta, tb, keys) => {
        const { updates: ua } = built('A', ta);
        const { updates: ub } = built('B', tb);
        const all = [...ua, ...ub];
        const reference = fingerprint(merged(all));
        const doc = merged(shuffled([...all, ...all.slice(0, keys.length % (all.length + 1))], keys));
        expect(fingerprint(doc)).toBe(reference);
        // A merged batch is the same join as its parts.
        expect(fingerprint(merged([mergeUpdates(all)]))).toBe(reference);
      }),
      RUNS,
    );
  });
});

type Fate = 'deliver' | 'drop' | 'duplicate';
const fateArb = fc.constantFrom<Fate>('deliver', 'deliver', 'drop', 'duplicate');

describe('replicas converge', () => {
  it('under dropped, duplicated and reordered updates, then anti-entropy (log and snapshot paths)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 6 }),
        fc.array(fc.tuple(fc.nat(), txArb), { minLength: 1, maxLength: 14 }),
        fc.array(fateArb, { minLength: 1, maxLength: 64 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 64 }),
        fc.boolean(),
        (n, steps, fates, keys, shortLog) => {
          // A short log on some replicas forces anti-entropy onto snapshots.
          const docs = Array.from({ length: n }, (_, i) =>
            newDoc(`r${i}`, shortLog && i % 2 === 0 ? { log: { maxEvents: 2 } } : {}),
          );
          const inFlight: { to: number; update: Uint8Array }[] = [];
          let f = 0;
          steps.forEach(([who, tx], step) => {
            const from = who % n;
            for (const update of transact(docs[from]!, tx)) {
              for (let to = 0; to < n; to++) {
                if (to === from) continue;
                const fate = fates[f++ % fates.length]!;
                if (fate !== 'drop') inFlight.push({ to, update });
                if (fate === 'duplicate') inFlight.push({ to, update });
              }
            }
            // Deliver part of what is in flight, in shuffled order.
            if (step % 3 === 2) {
              for (const m of shuffled(inFlight.splice(0, inFlight.length), keys))
                docs[m.to]!.apply(m.update);
            }
          });
          for (const m of shuffled(inFlight, keys)) docs[m.to]!.apply(m.update);
          // Anti-entropy: every pair, both ways, ring order then back.
          for (let round = 0; round < 2; round++) {
            for (let i = 0; i < n; i++)
              for (let j = 0; j < n; j++) if (i !== j) antiEntropy(docs[i]!, docs[j]!);
          }
          const first = fingerprint(docs[0]!);
          for (const d of docs) {
            expect(fingerprint(d)).toBe(first);
            expect(view(d)).toEqual(view(docs[0]!));
            expect(d.digest().equals(docs[0]!.digest())).toBe(true);
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('when one replica receives another’s events in any order, across gaps', () => {
    fc.assert(
      fc.property(historyArb, historyArb, fc.array(fc.nat(), { minLength: 1 }), (ta, tb, keys) => {
        const a = built('A', ta);
        // B observes all of A, then works on top of it (its removes observe A's adds).
        const b = newDoc('B');
        for (const u of a.updates) b.apply(u);
        const ub = tb.flatMap((tx) => transact(b, tx));
        const all = [...a.updates, ...ub];
        const inOrder = merged(all);
        const anyOrder = merged(shuffled(all, keys));
        expect(fingerprint(anyOrder)).toBe(fingerprint(inOrder));
        expect(view(anyOrder)).toEqual(view(b));
      }),
      RUNS,
    );
  });
});

describe('codec', () => {
  it('round-trips digests and re-encodes updates and snapshots identically', () => {
    fc.assert(
      fc.property(historyArb, historyArb, (ta, tb) => {
        const a = built('A', ta);
        const b = merged(a.updates, built('B', tb).updates);
        const digest = b.digest();
        expect(decodeDigest(encodeDigest(digest)).equals(digest)).toBe(true);
        expect(encodeDigest(decodeDigest(encodeDigest(digest)))).toEqual(encodeDigest(digest));
        for (const u of a.updates) expect(mergeUpdates([u])).toEqual(u);
        expect(fingerprint(merged(snapshotOf(b)))).toBe(fingerprint(b));
        expect(snapshotOf(b)).toEqual(snapshotOf(b));
      }),
      RUNS,
    );
  });
});

/** Applies `bytes`, requiring either success or a DecodeError that left the document exactly as it was. */
function applyOrReject(doc: Document, bytes: Uint8Array): void {
  const before = fingerprint(doc);
  try {
    doc.apply(bytes);
  } catch (error) {
    expect(error).toBeInstanceOf(DecodeError);
    expect(fingerprint(doc)).toBe(before);
  }
}

describe('bad bytes', () => {
  // Messages to corrupt. Snapshot payloads are corrupted before chunking (so the chunk id matches
  // and the payload's own validation is what stands between bad bytes and the state).
  const seeded = (): { doc: Document; messages: Uint8Array[]; payloads: Uint8Array[] } => {
    const source = newDoc('S');
    const messages = [
      ...transact(source, [
        { kind: 'add', v: 'a' },
        { kind: 'set', v: 'b' },
      ]),
      ...transact(source, [
        { kind: 'mapSet', k: 'c', v: 3 },
        { kind: 'inc', n: 2 },
        { kind: 'mv', v: 'd' },
      ]),
      ...transact(source, [{ kind: 'remove', v: 'a' }]),
    ];
    messages.push(mergeUpdates(messages), ...source.snapshot({ maxChunkBytes: 100 }));
    const payloads = [decodeSnapshotChunk(source.snapshot()[0]!).piece];
    // The target lacks most members, so creating one too early would show.
    const doc = createDocument({ replica: 'T', name: 'test' });
    doc.orset('set').add('z');
    return { doc, messages, payloads };
  };

  it('random bytes raise only DecodeError and change nothing', () => {
    const { doc } = seeded();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 100 }), (raw, tail) => {
        applyOrReject(doc, raw);
        // Past the header too: a valid version and kind, then noise.
        applyOrReject(doc, Uint8Array.of(1, 1 + ((tail[0] ?? 0) % 3), ...tail));
      }),
      { numRuns: 300 },
    );
  });

  it('mutated valid messages either apply or raise DecodeError changing nothing', () => {
    const { messages, payloads } = seeded();
    const sources = [...messages, ...payloads];
    fc.assert(
      fc.property(
        fc.nat(),
        fc.array(
          fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'cut', 'insert')),
          {
            minLength: 1,
            maxLength: 3,
          },
        ),
        (which, edits) => {
          const { doc } = seeded();
          const index = which % sources.length;
          let bytes: Uint8Array = Uint8Array.from(sources[index]!);
          for (const [at, value, how] of edits) {
            const i = at % (bytes.length + 1);
            if (how === 'set' && i < bytes.length) bytes[i] = value;
            else if (how === 'cut') bytes = bytes.slice(0, i);
            else bytes = Uint8Array.from([...bytes.slice(0, i), value, ...bytes.slice(i)]);
          }
          if (index >= messages.length) bytes = chunkSnapshot(bytes, bytes.length + 100)[0]!;
          applyOrReject(doc, bytes);
          for (const m of [decodeDigest]) {
            try {
              m(bytes);
            } catch (error) {
              expect(error).toBeInstanceOf(DecodeError);
            }
          }
          try {
            mergeUpdates([bytes]);
          } catch (error) {
            expect(error).toBeInstanceOf(DecodeError);
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});
