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
        fc.integer({ min: 0, max: 80 }),
        fc.integer({ min: 0, max: 20_000 }),
        fc.array(
          fc.tuple(fc.constantFrom('a', 'peer-b', 'c'), fc.uint8Array({ maxLength: 300 }), fc.boolean()),
          { maxLength: 400 },
        ),
        (maxEvents, maxBytes, appends) => {
          const log = new EventLog({ maxEvents, maxBytes });
          const model: { replica: string; seq: number; record: Uint8Array }[] = [];
          const dropped: string[] = [];
          appends.forEach(([replica, body, prefixed], seq) => {
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
      { numRuns: 60 },
    );
  });
});
