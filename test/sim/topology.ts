import type { Rng } from './prng.ts';

export type TopologyKind = 'random' | 'star' | 'line' | 'full';
export const topologies: readonly TopologyKind[] = ['random', 'star', 'line', 'full'];

/** Links of each node, both ways: `links[i]` holds the indexes of node i's neighbours. */
export type Links = readonly (readonly number[])[];

/** Neighbours a random mesh aims at on average, and the most any node keeps (gossipsub's D and D_hi are 6 and 12). */
const meanDegree = 4;
const maxDegree = 8;

/**
 * Links `n` nodes. `random`: a random recursive tree (so connected, of logarithmic depth) plus
 * random extra links up to about `meanDegree` per node, none past `maxDegree`. `star`: node 0 in
 * the middle. `line`: 0 – 1 – … – n-1. `full`: everyone linked to everyone.
 */
export function buildLinks(kind: TopologyKind, n: number, rng: Rng): Links {
  const links: number[][] = Array.from({ length: n }, () => []);
  const has = new Set<number>();
  const link = (a: number, b: number): boolean => {
    const key = Math.min(a, b) * n + Math.max(a, b);
    if (a === b || has.has(key)) return false;
    has.add(key);
    links[a]!.push(b);
    links[b]!.push(a);
    return true;
  };
  if (kind === 'full') for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) link(a, b);
  else if (kind === 'star') for (let b = 1; b < n; b++) link(0, b);
  else if (kind === 'line') for (let b = 1; b < n; b++) link(b - 1, b);
  else {
    for (let b = 1; b < n; b++) {
      // A parent with room; the tree's first nodes fill up, so later ones attach further out.
      let a = rng.int(0, b - 1);
      for (let tries = 0; links[a]!.length >= maxDegree && tries < 8; tries++) a = rng.int(0, b - 1);
      link(a, b);
    }
    const target = Math.min((n * meanDegree) / 2, (n * (n - 1)) / 2);
    let edges = n - 1;
    for (let tries = 0; edges < target && tries < 20 * n; tries++) {
      const a = rng.int(0, n - 1);
      const b = rng.int(0, n - 1);
      if (links[a]!.length < maxDegree && links[b]!.length < maxDegree && link(a, b)) edges++;
    }
  }
  return links;
}

/**
 * Splits the nodes into `k` connected regions grown breadth-first from `k` random seeds, so a
 * partition of a sparse mesh cuts it into `k` parts and not into many scattered pieces.
 */
export function regions(links: Links, k: number, rng: Rng): number[][] {
  const n = links.length;
  const owner = new Int32Array(n).fill(-1);
  const queue: number[] = [];
  while (queue.length < Math.min(k, n)) {
    const s = rng.int(0, n - 1);
    if (owner[s] !== -1) continue;
    owner[s] = queue.length;
    queue.push(s);
  }
  for (let head = 0; head < queue.length; head++) {
    const u = queue[head]!;
    for (const v of links[u]!)
      if (owner[v] === -1) {
        owner[v] = owner[u]!;
        queue.push(v);
      }
  }
  const out: number[][] = Array.from({ length: queue.length > 0 ? Math.min(k, n) : 0 }, () => []);
  owner.forEach((o, i) => out[Math.max(0, o)]!.push(i));
  return out;
}
