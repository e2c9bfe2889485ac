import { afterEach, describe, expect, it } from 'vitest';
import { getKey, setKey, startNode, startNodes, stopAll, waitFor, type TestNode } from './support/mesh.ts';

const topology = { minPeers: 4, maxPeers: 8, announceMs: 500, graceMs: 2000 };

/** Whether the links the nodes report join them all, by a walk from the first. */
function connected(nodes: TestNode[]): boolean {
  const byId = new Map(nodes.map((n) => [n.replica, n]));
  const seen = new Set([nodes[0]!.replica]);
  const todo = [nodes[0]!];
  for (let n = todo.pop(); n !== undefined; n = todo.pop()) {
    for (const p of n.peers()) {
      const next = byId.get(p);
      if (next !== undefined && !seen.has(p)) {
        seen.add(p);
        todo.push(next);
      }
    }
  }
  return seen.size === nodes.length;
}

const degrees = (nodes: TestNode[]): number[] => nodes.map((n) => n.peers().length);

describe('topology', () => {
  const nodes: TestNode[] = [];
  afterEach(() => stopAll(nodes.splice(0)));

  it('16 nodes that bootstrap to one keep a connected mesh of bounded degree, not a star', async () => {
    const hub = await startNode({ topology });
    nodes.push(hub);
    nodes.push(...(await startNodes(15, () => startNode({ topology, bootstrap: [hub.multiaddrs[0]!] }))));
    const bounded = (): boolean =>
      degrees(nodes).every((d) => d >= topology.minPeers && d <= topology.maxPeers);
    await waitFor('a connected mesh of bounded degree', () => bounded() && connected(nodes), 90_000);

    expect(hub.peers().length).toBeLessThanOrEqual(topology.maxPeers);
    // Nodes found peers besides the one they bootstrapped to, and the hub let some links go.
    expect(nodes.slice(1).filter((n) => !n.peers().includes(hub.replica)).length).toBeGreaterThan(0);
    expect(hub.metrics.snapshot().pruned).toBeGreaterThan(0);

    const docs = nodes.map((n) => n.document('team'));
    setKey(docs[7]!, 'written', 'on node 7');
    await waitFor('the write on every node', () => docs.every((d) => getKey(d, 'written') === 'on node 7'));
    // Settling takes seconds on a quiet machine; CI runs other suites beside it.
  }, 150_000);

  it('a 3-node mesh bootstrapped in a line becomes full: below minPeers a node links to every peer it knows', async () => {
    const a = await startNode({ topology });
    nodes.push(a);
    const b = await startNode({ topology, bootstrap: [a.multiaddrs[0]!] });
    nodes.push(b);
    const c = await startNode({ topology, bootstrap: [b.multiaddrs[0]!] });
    nodes.push(c);
    await waitFor('a full mesh', () => degrees(nodes).every((d) => d === 2));
    expect(a.peers()).toContain(c.replica);
  });
});
