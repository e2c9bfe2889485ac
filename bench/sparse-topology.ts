/**
 * The sparse mesh of the bench suites that start many nodes: each node links to one or two
 * random earlier ones (a fixed seed), so the mesh is connected but most pairs of nodes are
 * not, and membership and gossip must cross several hops.
 */
import { createRng } from '../test/sim/prng.ts';

/** Per node, the earlier nodes it links to (indexes); the same seed gives the same links. */
export type Links = readonly (readonly number[])[];

/** For each of `size` nodes, one or two random earlier nodes to link to; none for the first. */
export function sparseLinks(size: number, seed: number): number[][] {
  const rng = createRng(seed);
  return Array.from({ length: size }, (_, i) => {
    if (i === 0) return [];
    const first = rng.int(0, i - 1);
    if (i === 1 || rng.chance(0.5)) return [first];
    let second = rng.int(0, i - 2);
    if (second >= first) second++;
    return [first, second];
  });
}

/** Whether the nodes other than `removed` still reach one another over `links`. */
export function connectedWithout(links: Links, removed: number): boolean {
  const neighbours = links.map(() => new Set<number>());
  links.forEach((to, from) =>
    to.forEach((t) => {
      neighbours[from]!.add(t);
      neighbours[t]!.add(from);
    }),
  );
  const start = removed === 0 ? 1 : 0;
  const reached = new Set([start, removed]);
  const queue = [start];
  for (let n = queue.pop(); n !== undefined; n = queue.pop())
    for (const m of neighbours[n]!)
      if (!reached.has(m)) {
        reached.add(m);
        queue.push(m);
      }
  return reached.size === links.length;
}
