import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Writer } from '../../src/codec/writer.ts';
import { EventLog } from '../../src/document/event-log.ts';

/** A record as the Document writes one: the event's replica first, then anything. */
function record(replica: string, body: Uint8Array): Uint8Array {
  const w = new Writer();
  w.replica(replica);
  for (const b of body) w.byte(b);
  return w.finish();
}

describe('EventLog', () => {
  it('keeps the newest events within its bounds and returns their records intact', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: 0, max: 10 }), fc.integer({ min: 50, max: 300 })),
        fc.oneof(fc.integer({ min: 0, max: 2000 }), fc.integer({ min: 100_000, max: 300_000 })),
        fc.array(
          fc.tuple(
            fc.constantFrom('a', 'peer-b', 'c'),
            fc.uint8Array({ minLength: 1, maxLength: 40 }),
            // Some records are long, so entries fill and cross 64 KiB pages.
            fc.oneof(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 1000, max: 3000 })),
            fc.boolean(),
          ),
          { maxLength: 300, size: 'max' },
        ),
        (maxEvents, maxBytes, appends) => {
          const log = new EventLog({ maxEvents, maxBytes });
          const model: { replica: string; seq: number; record: Uint8Array }[] = [];
          const dropped: string[] = [];
          appends.forEach(([replica, pattern, length, prefixed], seq) => {
            const body = Uint8Array.from({ length }, (_, i) => pattern[i % pattern.length]!);
            // Some records do not start with their replica (the log must keep those whole).
            const bytes = prefixed ? record(replica, body) : Uint8Array.of(9, ...body);
            log.append(replica, seq, bytes, (r, s) => dropped.push(`${r}:${s}`));
            model.push({ replica, seq, record: bytes });
          });
          const held: { replica: string; seq: number; record: Uint8Array }[] = [];
          log.forEach((replica, seq, rec) => held.push({ replica, seq, record: rec() }));
          expect(held.length).toBeLessThanOrEqual(maxEvents);
          expect(log.bytes).toBeLessThanOrEqual(maxBytes);
          // What is held is a suffix of what was appended, and everything else was reported dropped.
          expect(held).toEqual(model.slice(model.length - held.length));
          expect(dropped).toEqual(
            model.slice(0, model.length - held.length).map((m) => `${m.replica}:${m.seq}`),
          );
        },
      ),
      { numRuns: 25 },
    );
  });

  it('skips only pages whose every event the reader holds', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 50, max: 400 }),
        // Small byte bounds make a long record evict everything, itself included.
        fc.oneof(fc.integer({ min: 2000, max: 8000 }), fc.constant(16 * 1024 * 1024)),
        fc.array(
          fc.tuple(
            fc.constantFrom('a', 'peer-b', 'c'),
            // Long records fill several 64 KiB pages.
            fc.oneof(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 1000, max: 140_000 })),
          ),
          { maxLength: 300, size: 'max' },
        ),
        fc.record({ a: fc.nat(), 'peer-b': fc.nat(), c: fc.nat() }),
        (maxEvents, maxBytes, appends, fractions) => {
          const log = new EventLog({ maxEvents, maxBytes });
          const next = new Map<string, number>();
          // The reader holds each replica's events up to some seq (a digest's contiguous prefix).
          const through = (replica: string): number =>
            (fractions[replica as keyof typeof fractions] ?? 0) % ((next.get(replica) ?? 0) + 1);
          const holds = (replica: string, seq: number): boolean => seq <= through(replica);
          const lacking = (visit: (v: (replica: string, seq: number) => void) => void): string[] => {
            const out: string[] = [];
            visit((replica, seq) => {
              if (!holds(replica, seq)) out.push(`${replica}:${seq}`);
            });
            return out;
          };
          // Read now and then while appending, so that what a read works out of a page is kept
          // while later appends fill and evict pages.
          appends.forEach(([replica, length], i) => {
            const seq = (next.get(replica) ?? 0) + 1;
            next.set(replica, seq);
            log.append(replica, seq, record(replica, new Uint8Array(length)), () => {});
            if (i % 25 === 24 || i === appends.length - 1) {
              expect(lacking((v) => log.forEach(v, holds))).toEqual(lacking((v) => log.forEach(v)));
            }
          });
        },
      ),
      { numRuns: 50 },
    );
  });

  it('keeps a record without the replica id it starts with, whatever the id', () => {
    for (const replica of ['a', 'x'.repeat(300), 'pëer-ü-12D3Koo']) {
      const log = new EventLog();
      const bytes = record(replica, Uint8Array.of(1, 2, 3));
      log.append(replica, 1, bytes, () => {});
      // Replica index, seq and length (one byte each), then the three bytes after the id.
      expect(log.bytes).toBe(6);
      const held: Uint8Array[] = [];
      log.forEach((_r, _s, rec) => held.push(rec()));
      expect(held).toEqual([bytes]);
    }
  });
});
