import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DueQueue } from '../src/due-queue.ts';

describe('DueQueue', () => {
  it('yields live keys in due order, whatever the sets, moves and deletes before', () => {
    const op = fc.oneof(
      fc.record({ set: fc.integer({ min: 0, max: 30 }), at: fc.integer({ min: 0, max: 1000 }) }),
      fc.record({ del: fc.integer({ min: 0, max: 30 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const q = new DueQueue<number>();
        const model = new Map<number, number>();
        for (const o of ops) {
          if ('set' in o) {
            q.set(o.set, o.at);
            model.set(o.set, o.at);
          } else expect(q.delete(o.del)).toBe(model.delete(o.del));
        }
        expect(q.size).toBe(model.size);
        const out: number[] = [];
        for (let e = q.shift(); e !== undefined; e = q.shift()) {
          expect(model.get(e.key)).toBe(e.at);
          out.push(e.at);
        }
        expect(out).toEqual([...model.values()].sort((a, b) => a - b));
      }),
    );
  });
});
