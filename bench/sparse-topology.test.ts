import { describe, expect, it } from 'vitest';
import { connectedWithout, sparseLinks } from './sparse-topology.ts';

describe('sparseLinks', () => {
  it('links each node but the first to one or two distinct earlier nodes, the same for the same seed', () => {
    const links = sparseLinks(50, 7);
    expect(links[0]).toEqual([]);
    for (const [i, to] of links.entries()) {
      if (i === 0) continue;
      expect(to.length).toBeGreaterThanOrEqual(1);
      expect(to.length).toBeLessThanOrEqual(2);
      expect(new Set(to).size).toBe(to.length);
      for (const t of to) expect(t).toBeLessThan(i);
    }
    expect(sparseLinks(50, 7)).toEqual(links);
    expect(sparseLinks(50, 8)).not.toEqual(links);
  });
});

describe('connectedWithout', () => {
  // 0 — 1 — 2, and 3 linked to 0 and 2: a ring of four.
  const ring = [[], [0], [1], [0, 2]];
  // 0 — 1 — 2: a path, whose middle node splits it.
  const path = [[], [0], [1]];

  it('holds when the other nodes still reach one another', () => {
    expect([0, 1, 2, 3].map((n) => connectedWithout(ring, n))).toEqual([true, true, true, true]);
    expect(connectedWithout(path, 0)).toBe(true);
    expect(connectedWithout(path, 2)).toBe(true);
  });

  it('fails when removing the node splits the mesh', () => {
    expect(connectedWithout(path, 1)).toBe(false);
    expect(connectedWithout([[], [0], [0], [2]], 2)).toBe(false);
  });
});
