import { afterEach, describe, expect, it } from 'vitest';
import { publicKeyToProtobuf } from '@libp2p/crypto/keys';
import { PEERS_TOPIC } from '../src/index.ts';
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

  it('announcements back off while a node keeps its links, and come at the fast rate again when they change', async () => {
    const announcing = { ...topology, announceMs: 200, announceMaxMs: 1600 };
    const a = await startNode({ topology: announcing });
    nodes.push(a);
    const b = await startNode({ topology: announcing, bootstrap: [a.multiaddrs[0]!] });
    nodes.push(b);
    // a's announcements as b hears them: they start with a's public key (protobuf field 1).
    const key = publicKeyToProtobuf(a.libp2p.peerId.publicKey!);
    const fromA = (data: Uint8Array): boolean => key.every((x, i) => data[2 + i] === x);
    const heard: number[] = [];
    b.libp2p.services.pubsub.addEventListener('message', (evt) => {
      if (evt.detail.topic === PEERS_TOPIC && fromA(evt.detail.data)) heard.push(performance.now());
    });
    await waitFor('a and b linked', () => a.peers().includes(b.replica));
    const since = performance.now();
    await new Promise((r) => setTimeout(r, 5000));
    const settled = heard.filter((t) => t >= since);
    // At a fixed 200 ms, 25 in 5 s; at 1.6 s once the links held, about 3.
    expect(settled.length).toBeGreaterThan(0);
    expect(settled.length).toBeLessThanOrEqual(8);

    // A new link: a announces again within 200 ms of its last announcement (plus the link's own
    // settling), not after the 1.6 s it had backed off to (peer-announcer.test.ts times the rest).
    const c = await startNode({ topology: announcing, bootstrap: [a.multiaddrs[0]!] });
    nodes.push(c);
    await waitFor('a and c linked', () => a.peers().includes(c.replica));
    const linked = performance.now();
    const before = heard.length;
    await waitFor('an announcement soon after the new link', () => heard.length > before, 1400);
    expect(performance.now() - linked).toBeLessThan(1400);
  });

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
