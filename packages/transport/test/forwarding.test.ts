import { afterEach, describe, expect, it } from 'vitest';
import {
  getKey,
  link,
  lineEdges,
  setKey,
  startNodes,
  startNode,
  stopAll,
  waitFor,
  type TestNode,
} from './support/mesh.ts';

/**
 * Gossip forwarding follows the mesh's shape, on real libp2p nodes over TCP. Anti-entropy runs
 * only once a minute here, so what arrives within the test came by gossip.
 */
describe('gossip forwarding', () => {
  let nodes: TestNode[] = [];
  afterEach(async () => {
    await stopAll(nodes);
    nodes = [];
  });

  const start = async (edges: [number, number][]): Promise<TestNode[]> => {
    // Discovery off: the links are the test's edges and nothing else.
    nodes = await startNodes(3, () => startNode({ syncIntervalMs: 60_000, topology: { announceMs: 0 } }));
    for (const n of nodes) n.document('tasks');
    await link(nodes, edges);
    // Every node has heard every other's links, from their member records alone.
    await waitFor('presence', () => nodes.every((n) => n.presence.liveLinks().size === 2));
    return nodes;
  };

  it('stops in a full mesh, where every node has each message from its author', async () => {
    const [a, b, c] = await start([
      [0, 1],
      [1, 2],
      [0, 2],
    ]);
    // Until every node's record lists the whole mesh, a's writes go out signed and forwarded.
    let probes = 0;
    await waitFor('the mesh to count as full', () => {
      setKey(a!.document('tasks'), `probe${probes++}`, 0);
      return [b!, c!].every((n) => n.metrics.snapshot().unforwarded.unsigned > 0);
    });
    const before = [b!, c!].map((n) => n.metrics.snapshot());
    for (let i = 0; i < 10; i++) {
      setKey(a!.document('tasks'), `k${i}`, i);
      await new Promise((r) => setTimeout(r, 20));
    }
    await waitFor('keys on b and c', () => [b!, c!].every((n) => getKey(n.document('tasks'), 'k9') === 9));
    for (const [i, n] of [b!, c!].entries()) {
      const m = n.metrics.snapshot();
      const received = m.messagesIn.gossip - before[i]!.messagesIn.gossip;
      // Each message from a was applied here and not forwarded, and a sent it without a signature.
      expect(received).toBeGreaterThanOrEqual(1);
      expect(m.unforwarded.unsigned - before[i]!.unforwarded.unsigned).toBe(received);
      expect(m.unforwarded.signed - before[i]!.unforwarded.signed).toBe(0);
    }
  });

  it('goes on where a node is not linked to every other', async () => {
    const [a, b, c] = await start(lineEdges(3));
    expect(a!.peers()).not.toContain(c!.replica);
    for (let i = 0; i < 10; i++) {
      setKey(a!.document('tasks'), `k${i}`, i);
      await new Promise((r) => setTimeout(r, 20));
    }
    // c is linked only to b: a's writes reach it because b forwards them.
    await waitFor('keys on c', () => getKey(c!.document('tasks'), 'k9') === 9);
    for (const n of [a!, b!, c!])
      expect(n.metrics.snapshot().unforwarded).toEqual({ signed: 0, unsigned: 0 });
  });
});
