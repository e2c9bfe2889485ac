import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createEventLogDocument,
  eventLogRuntime,
  type EventLogDocument,
} from './support/event-log-document.ts';
import {
  fastOptions,
  lineEdges,
  link,
  sparseEdges,
  startNode,
  startNodes,
  stopAll,
  waitFor,
  type TestNode,
} from './support/mesh.ts';

const converged = (docs: EventLogDocument[], size: number): boolean =>
  docs.every((d) => d.size === size && d.fingerprint() === docs[0]!.fingerprint());

describe('convergence over TCP (event-log Document)', () => {
  const nodes: TestNode[] = [];
  afterEach(() => stopAll(nodes.splice(0)));

  it('a late joiner gets 10,000 writes by snapshot, then live deltas', async () => {
    // The log keeps 500 events, so a peer 10,000 behind is past it: snapshot path.
    const a = await startNode({
      runtime: { ...eventLogRuntime, create: (o) => createEventLogDocument({ ...o, maxLogEvents: 500 }) },
      limits: { maxFrameBytes: 64 * 1024 },
    });
    nodes.push(a);
    const da = a.document('tasks');
    for (let i = 0; i < 100; i++) {
      da.setMany(Array.from({ length: 100 }, (_, j) => [`k${i * 100 + j}`, `v${i}`] as [string, string]));
    }
    expect(da.size).toBe(10_000);
    const b = await startNode({ bootstrap: [a.multiaddrs[0]!] });
    nodes.push(b);
    const db = b.document('tasks');
    await waitFor('snapshot', () => db.size === 10_000, 30_000);
    await waitFor('snapshot counted', () => a.metrics.snapshot().syncRounds.snapshots > 0);
    da.set('after', 'live');
    db.set('reply', 'live');
    await waitFor('live deltas', () => db.get('after') === 'live' && da.get('reply') === 'live');
    expect(da.fingerprint()).toBe(db.fingerprint());
  });

  it('partition longer than the gossip message cache heals by anti-entropy', async () => {
    // Heartbeat 200 ms × 5 windows: gossip forgets after ~1 s; the cut lasts 2.5 s.
    // Periodic rounds are off so that only the reconnect heals.
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
    docs[0]!.set('start', 'x');
    await waitFor('initial', () => converged(docs, 1));
    const left = ns.slice(0, 3);
    const right = ns.slice(3);
    await Promise.all(left.flatMap((l) => right.map((r) => l.deny(r.replica))));
    await waitFor('cut', () => left.every((l) => right.every((r) => !l.peers().includes(r.replica))));
    for (let i = 0; i < 60; i++) docs[i % 6]!.set(`p${i}`, `side${i % 6 < 3 ? 'L' : 'R'}`);
    await waitFor(
      'each side converged',
      () => converged(docs.slice(0, 3), 31) && converged(docs.slice(3), 31),
    );
    await new Promise((r) => setTimeout(r, 2500));
    for (const l of left) for (const r of right) l.undeny(r.replica);
    // Redial loops reconnect the bridges (2–3 and 0–5) on their own.
    await waitFor('healed', () => converged(docs, 61), 20_000);
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
      // The daemon restores a replica's Document from disk; a replica must never
      // restart empty under its old id, or it would reuse its own event ids.
      const restored = b.document('tasks');
      restored.set('before', 'restart');
      await waitFor('first sync', () => da.size === 1);
      await b.stop();
      da.set('while', 'down');
      // Same key and port; no bootstrap: a's redial loop must find it again.
      b = await startNode({ keyFile, listen: [`/ip4/127.0.0.1/tcp/${port}`] });
      nodes.push(b);
      expect(b.replica).toBe(firstId);
      const db = b.attach(restored);
      await waitFor('rejoined', () => db.size === 2 && a.peers().includes(b.replica));
      db.set('after', 'restart');
      await waitFor('live again', () => da.size === 3);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('topologies', () => {
  const nodes: TestNode[] = [];
  afterEach(() => stopAll(nodes.splice(0)));

  const topologies: [string, [number, number][]][] = [
    ['line', lineEdges(5)],
    ['random sparse', sparseEdges(5, 1, 7)],
  ];
  for (const [name, edges] of topologies) {
    it(`5 nodes in a ${name} converge after concurrent writes on all nodes`, async () => {
      const ns = await startNodes(5, () => startNode({ ...fastOptions }));
      nodes.push(...ns);
      await link(ns, edges);
      const docs = ns.map((n) => n.document('tasks'));
      await Promise.all(
        docs.map(async (d, i) => {
          for (let k = 0; k < 20; k++) {
            d.set(`n${i}-${k}`, `${k}`);
            if (k % 5 === 0) await new Promise((r) => setTimeout(r, 5));
          }
        }),
      );
      await waitFor('converged', () => converged(docs, 100));
    });
  }
});
