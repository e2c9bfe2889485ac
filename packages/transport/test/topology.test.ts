import { afterEach, describe, expect, it } from 'vitest';
import { publicKeyToProtobuf } from '@libp2p/crypto/keys';
import { PEERS_TOPIC } from '../src/index.ts';
import { dialOrder, pruneOrder } from '../src/topology.ts';
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

  it('a node over maxPeers closes its link to the best-connected neighbour, not to those that would fall below minPeers', async () => {
    // No discovery and no bootstrap: the only links are those dialled here.
    const topologyOf = (maxPeers: number) => ({
      topology: { announceMs: 0, graceMs: 1500, minPeers: 1, maxPeers },
    });
    const hub = await startNode(topologyOf(3));
    const busy = await startNode(topologyOf(5));
    const far = await startNodes(3, () => startNode(topologyOf(5)));
    const leaves = await startNodes(3, () => startNode(topologyOf(3)));
    nodes.push(hub, busy, ...far, ...leaves);
    await Promise.all(far.map((n) => busy.dial(n.multiaddrs[0]!)));
    await waitFor('busy linked to the three', () => busy.peers().length === 3);
    // `busy` first: its link comes of age first, and alone it would be pruned anyway.
    await hub.dial(busy.multiaddrs[0]!);
    await Promise.all(leaves.map((n) => hub.dial(n.multiaddrs[0]!)));
    // The hub has four links and room for three; `busy` has three more, each leaf none.
    await waitFor(
      'the hub down to maxPeers',
      () => hub.metrics.snapshot().pruned > 0 && hub.peers().length === 3,
    );
    expect(hub.peers()).not.toContain(busy.replica);
    for (const leaf of leaves) expect(leaf.peers()).toEqual([hub.replica]);
    // `busy` keeps its own links (it may take the hub back for a moment if the prune notice was lost).
    for (const f of far) expect(busy.peers()).toContain(f.replica);
  });

  it('pruneOrder puts the best-connected neighbours first, those of unknown degree last, ties at random', () => {
    const degree = new Map([
      ['a', 3],
      ['b', 9],
      ['c', 6],
      ['d', 9],
    ]);
    const firsts = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const order = pruneOrder(['a', 'b', 'c', 'd', 'e'], (p) => degree.get(p));
      expect(order.slice(2)).toEqual(['c', 'a', 'e']);
      firsts.add(order[0]!);
    }
    expect([...firsts].sort()).toEqual(['b', 'd']);
  });

  it('dialOrder puts peers with room (or of unknown degree) before full ones, at random among each', () => {
    const degree = new Map([
      ['full', 10],
      ['over', 12],
      ['room', 4],
    ]);
    const firsts = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const order = dialOrder(['full', 'room', 'over', 'new'], (p) => degree.get(p), 10);
      expect(order.slice(0, 2).sort()).toEqual(['new', 'room']);
      expect(order.slice(2).sort()).toEqual(['full', 'over']);
      firsts.add(order[0]!);
    }
    expect(firsts.size).toBe(2);
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
