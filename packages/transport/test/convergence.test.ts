import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDocument, lww, type Document } from '@meshwork/core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  getKey,
  kv,
  kvView,
  lineEdges,
  link,
  setKey,
  sparseEdges,
  startNode,
  startNodes,
  stopAll,
  waitFor,
  type TestNode,
} from './support/mesh.ts';

const converged = (docs: Document[], size: number): boolean =>
  docs.every((d) => kv(d).size === size && kvView(d) === kvView(docs[0]!));

/** Writes on every CRDT type, different on every replica. */
function writeEverything(doc: Document, i: number, n: number): void {
  doc.orset<string>('agents').add(`agent-${i}`);
  doc.orset<string>('agents').add(`gone-${i}`);
  doc.orset<string>('agents').remove(`gone-${i}`);
  doc.lww<number>('leader').set(i);
  doc.mvregister<number>('mode').set(i);
  doc.gcounter('done').increment(i + 1);
  doc.pncounter('balance').increment(10);
  doc.pncounter('balance').decrement(i);
  doc.boundedCounter('slots').increment(5);
  doc.boundedCounter('slots').decrement(2);
  doc.transact(() => {
    doc.ormap('tasks', lww()).get(`t${i}`).set({ owner: i });
    doc.graph('deps').addVertex(`v${i}`, { i });
    doc.graph('deps').addVertex(`v${(i + 1) % n}`);
    doc.graph('deps').addEdge(`v${i}`, `v${(i + 1) % n}`, 'next');
  });
  doc.timeSeries('load').append('cpu', i, 1_000 + i);
  doc.ydoc('notes').doc.getText('text').insert(0, `[${i}]`);
}

/** Everything a replica shows, in a canonical form. */
function view(doc: Document): string {
  const g = doc.graph('deps');
  return JSON.stringify({
    agents: doc.orset<string>('agents').values().sort(),
    leader: doc.lww('leader').get(),
    mode: doc.mvregister<number>('mode').values().sort(),
    done: doc.gcounter('done').value,
    balance: doc.pncounter('balance').value,
    slots: doc.boundedCounter('slots').value,
    tasks: doc
      .ormap('tasks', lww())
      .entries()
      .map(([k, r]) => [k, r.get()] as const)
      .sort(([x], [y]) => (x < y ? -1 : 1)),
    vertices: g
      .vertices()
      .map((v) => v.id)
      .sort(),
    edges: g
      .edges()
      .map((e) => `${e.from}>${e.to}`)
      .sort(),
    load: doc.timeSeries('load').range('cpu', 0, 10_000),
    notes: doc.ydoc('notes').doc.getText('text').toJSON(),
  });
}

describe('5 nodes over TCP converge on every CRDT type', () => {
  const nodes: TestNode[] = [];
  afterEach(() => stopAll(nodes.splice(0)));

  const topologies: [string, [number, number][]][] = [
    ['line', lineEdges(5)],
    ['random sparse topology', sparseEdges(5, 1, 7)],
  ];
  for (const [name, edges] of topologies) {
    it(`in a ${name}, after concurrent writes on all nodes`, async () => {
      const ns = await startNodes(5, () => startNode());
      nodes.push(...ns);
      await link(ns, edges);
      const docs = ns.map((n) => n.document('team'));
      await Promise.all(
        docs.map(async (d, i) => {
          for (let round = 0; round < 3; round++) {
            writeEverything(d, i, 5);
            await new Promise((r) => setTimeout(r, 5));
          }
        }),
      );
      await waitFor('converged', () => docs.every((d) => view(d) === view(docs[0]!)));
      const v = JSON.parse(view(docs[0]!)) as {
        agents: string[];
        done: number;
        vertices: string[];
        load: unknown[];
      };
      expect(v.agents).toEqual(['agent-0', 'agent-1', 'agent-2', 'agent-3', 'agent-4']);
      expect(v.done).toBe(3 * (1 + 2 + 3 + 4 + 5));
      expect(v.vertices).toHaveLength(5);
      expect(v.load).toHaveLength(15);
    });
  }
});

describe('catching up', () => {
  const nodes: TestNode[] = [];
  afterEach(() => stopAll(nodes.splice(0)));

  it('a late joiner gets 10,000 writes by snapshot, then live deltas', async () => {
    const a = await startNode({ limits: { maxFrameBytes: 64 * 1024 } });
    nodes.push(a);
    // The log keeps 500 events, so a peer 10,000 behind is past it: snapshot path.
    const da = a.attach(createDocument({ replica: a.replica, name: 'tasks', log: { maxEvents: 500 } }));
    for (let i = 0; i < 10_000; i++) setKey(da, `k${i}`, i);
    expect(kv(da).size).toBe(10_000);
    const b = await startNode({ bootstrap: [a.multiaddrs[0]!] });
    nodes.push(b);
    const db = b.document('tasks');
    await waitFor('snapshot', () => kv(db).size === 10_000, 30_000);
    await waitFor('snapshot counted', () => a.metrics.snapshot().syncRounds.snapshots > 0);
    setKey(da, 'after', 'live');
    setKey(db, 'reply', 'live');
    await waitFor('live deltas', () => getKey(db, 'after') === 'live' && getKey(da, 'reply') === 'live');
    expect(kvView(da)).toBe(kvView(db));
  });

  it('syncs several Documents by name, opened before or after connecting; detach stops one', async () => {
    const a = await startNode({ syncIntervalMs: 0 });
    const b = await startNode({ syncIntervalMs: 0, bootstrap: [a.multiaddrs[0]!] });
    nodes.push(a, b);
    setKey(a.document('one'), 'k', 'one');
    await waitFor('connected', () => a.peers().includes(b.replica));
    const bOne = b.document('one');
    setKey(a.document('two'), 'k', 'two'); // written before b opens it
    const bTwo = b.document('two');
    await waitFor('both synced', () => getKey(bOne, 'k') === 'one' && getKey(bTwo, 'k') === 'two');
    expect([...a.documents().keys()].sort()).toEqual(['one', 'two']);
    b.detach('two');
    setKey(a.document('two'), 'later', 'x');
    setKey(a.document('one'), 'later', 'x');
    await waitFor('one still syncs', () => getKey(bOne, 'later') === 'x');
    expect(getKey(bTwo, 'later')).toBeUndefined();
    expect(() => a.attach(bOne)).toThrow(/belongs to replica/);
  });

  it('a local batch too large for gossip goes by anti-entropy', async () => {
    const limits = { maxGossipBytes: 4096 };
    const a = await startNode({ limits });
    const b = await startNode({ limits, bootstrap: [a.multiaddrs[0]!] });
    nodes.push(a, b);
    const da = a.document('tasks');
    const db = b.document('tasks');
    await waitFor('connected', () => a.peers().includes(b.replica));
    da.transact(() => {
      for (let i = 0; i < 200; i++) setKey(da, `big-${i}`, 'x'.repeat(50));
    });
    await waitFor('delivered by a round', () => kv(db).size === 200);
    expect(a.metrics.snapshot().deferredBatches).toBe(1);
    expect(a.metrics.snapshot().messagesOut.gossip).toBe(0);
  });

  it('a partition longer than the gossip message cache heals by anti-entropy', async () => {
    // Heartbeat 200 ms × 5 windows: gossip forgets after ~1 s; the cut lasts 2.5 s.
    // Periodic rounds are off: only reconnecting heals.
    const ns = await startNodes(6, () => startNode({ syncIntervalMs: 0 }));
    nodes.push(...ns);
    await link(ns, [
      [0, 1],
      [1, 2],
      [0, 2],
      [3, 4],
      [4, 5],
      [3, 5],
      [2, 3],
      [0, 5],
    ]);
    const docs = ns.map((n) => n.document('tasks'));
    setKey(docs[0]!, 'start', 'x');
    await waitFor('initial', () => converged(docs, 1));
    const left = ns.slice(0, 3);
    const right = ns.slice(3);
    await Promise.all(left.flatMap((l) => right.map((r) => l.deny(r.replica))));
    await waitFor('cut', () => left.every((l) => right.every((r) => !l.peers().includes(r.replica))));
    for (let i = 0; i < 60; i++) setKey(docs[i % 6]!, `p${i}`, i % 6 < 3 ? 'left' : 'right');
    await waitFor('each side', () => converged(docs.slice(0, 3), 31) && converged(docs.slice(3), 31));
    await new Promise((r) => setTimeout(r, 2500));
    for (const l of left) for (const r of right) l.undeny(r.replica);
    // The redial loops reconnect the bridges (2–3 and 0–5) by themselves.
    await waitFor('healed', () => converged(docs, 61));
  });

  it('a node restarted with the same key rejoins and converges', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'meshwork-key-'));
    try {
      const keyFile = join(dir, 'peer.key');
      const a = await startNode();
      nodes.push(a);
      const da = a.document('tasks');
      let b = await startNode({ keyFile, bootstrap: [a.multiaddrs[0]!] });
      const firstId = b.replica;
      const port = b.multiaddrs[0]!.toString().split('/')[4]!;
      // The daemon restores a replica's Document from disk; here it stays in memory.
      const restored = b.document('tasks');
      setKey(restored, 'before', 'restart');
      await waitFor('first sync', () => kv(da).size === 1);
      await b.stop();
      setKey(da, 'while', 'down');
      // Same key and port, no bootstrap: a's redial loop finds it again.
      b = await startNode({ keyFile, listen: [`/ip4/127.0.0.1/tcp/${port}`] });
      nodes.push(b);
      expect(b.replica).toBe(firstId);
      const db = b.attach(restored);
      await waitFor('rejoined', () => kv(db).size === 2 && a.peers().includes(firstId));
      setKey(db, 'after', 'restart');
      await waitFor('live again', () => kv(da).size === 3);
      expect(kvView(da)).toBe(kvView(db));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
