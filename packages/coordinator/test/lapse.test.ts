import { describe, expect, it } from 'vitest';
import { createLapseRule } from '../src/coordinator/lapse.ts';

const p99 = 200;
const rules = (n: number) =>
  Array.from({ length: n }, (_, i) =>
    createLapseRule({ replica: `node-${i}`, delay: { p99: () => p99 }, leaseMs: 3000, maxTransitLeases: 3 }),
  );

describe('when a lease counts as lapsed', () => {
  it("is the lease's end for the holder's own node, and at least one delivery delay later for the others", () => {
    const [self, other] = rules(2);
    expect(self!.lapsesAt('t', 1, 'node-0', 10_000, 2)).toBe(10_000);
    expect(other!.lapsesAt('t', 1, 'node-0', 10_000, 2)).toBeGreaterThanOrEqual(10_000 + p99);
    const capped = createLapseRule({
      replica: 'x',
      delay: { p99: () => 60_000 },
      leaseMs: 1000,
      maxTransitLeases: 3,
    });
    expect(capped.lapsesAt('t', 1, 'node-0', 0, 1)).toBe(3000);
  });

  it('is staggered over the mesh: of 50 nodes, few declare one epoch lost before the first declaration reaches them', () => {
    const nodes = rules(50);
    let early = 0;
    let firstLate = 0;
    const tasks = 500;
    for (let t = 0; t < tasks; t++) {
      const at = nodes.map((r) => r.lapsesAt(`task-${t}`, 1, 'holder', 0, 50)).sort((a, b) => a - b);
      // Declarations within one delivery delay of the first are written before it arrives.
      early += at.filter((x) => x < at[0]! + p99).length;
      firstLate += at[0]! - p99;
    }
    expect(early / tasks).toBeLessThan(2.5);
    // The first comes about one delay after the lease's end plus its transit.
    expect(firstLate / tasks).toBeLessThan(2 * p99);
    // Each node's turn differs from task to task: no node is always first or always last.
    const firsts = new Set<number>();
    for (let t = 0; t < tasks; t++) {
      const at = nodes.map((r) => r.lapsesAt(`task-${t}`, 1, 'holder', 0, 50));
      firsts.add(at.indexOf(Math.min(...at)));
    }
    expect(firsts.size).toBeGreaterThan(30);
  });
});
