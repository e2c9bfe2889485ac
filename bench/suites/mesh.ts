/**
 * `pnpm bench mesh`: Meshwork's transport against a plain Yjs-over-gossipsub
 * provider (Y.Doc updates published on a gossipsub topic, applied on receipt),
 * both on real libp2p nodes over TCP loopback, the same random sparse topology
 * (every node linked to at least 3 others) and the same workload.
 *
 * Both systems run on the same libp2p stack (TCP, Noise, yamux, gossipsub with
 * the same settings): the baseline's nodes are mesh nodes with no Meshwork
 * Document open and no anti-entropy, whose gossipsub carries Yjs updates.
 * Bytes are counted on every TCP socket of the process, so they include
 * Noise, yamux and gossipsub framing for both.
 */
import { subscribe } from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import { lww, type Document, type LWWRegister, type ORMap, type Value } from '@meshwork/core';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromString } from '@libp2p/peer-id';
import { createMeshNode, type MeshNode } from '@meshwork/transport';
import * as Y from 'yjs';
import { percentile, type Progress, type Row, type Suite } from '../report.ts';

const SYSTEMS = ['meshwork', 'gossipsub-yjs'] as const;
type SystemName = (typeof SYSTEMS)[number];

/** MESH_BENCH_QUICK=1 runs a small version, for trying the suite out. */
const QUICK = process.env.MESH_BENCH_QUICK === '1';
/** MESH_BENCH_ONLY=convergence,burst,heal picks workloads; all by default. */
const ONLY = new Set((process.env.MESH_BENCH_ONLY ?? 'convergence,burst,heal').split(','));
/** MESH_BENCH_SYSTEMS=meshwork picks systems; both by default. */
const RUN_SYSTEMS = new Set((process.env.MESH_BENCH_SYSTEMS ?? SYSTEMS.join(',')).split(','));
const WRITES = QUICK ? 20 : 100; // per convergence workload
const RUNS = QUICK ? 1 : 3; // per convergence workload and system; the least disturbed counts
const BURST_RATE = 1000; // writes per second
const BURST_SECONDS = QUICK ? 2 : 10;
const HEAL_KEYS = QUICK ? 1000 : 10_000; // per side
const HEAL_BATCH = 100; // keys per transaction
const HEAL_TIMEOUT_MS = 15_000;
const DEGREE = 3;
const SETTLE_MS = 3000; // lets gossipsub meshes form (a few heartbeats)
const WRITE_TIMEOUT_MS = 10_000;

// ---- wire bytes: every TCP socket the process opens or accepts --------------

const sockets = new Set<Socket>();
let closedBytes = 0;
const track = (message: unknown): void => {
  const socket = (message as { socket: Socket }).socket;
  sockets.add(socket);
  socket.once('close', () => {
    closedBytes += socket.bytesWritten;
    sockets.delete(socket);
  });
};
subscribe('net.client.socket', track);
subscribe('net.server.socket', track);

/** Bytes written to TCP so far by every node of this process. */
function wireBytes(): number {
  let n = closedBytes;
  for (const s of sockets) n += s.bytesWritten;
  return n;
}

// ---- the two systems behind one small interface -----------------------------

/** One node of a system under test: it writes keys and reports when keys arrive. */
interface BenchNode {
  readonly node: MeshNode;
  /** Writes `key` (one event / one Yjs transaction). */
  write(key: string, value: string): void;
  /** Writes all `keys` in one transaction (one event / one Yjs update). */
  writeMany(keys: string[], value: string): void;
  /** Calls `listener(key)` for every key a remote write brought in. */
  onArrival(listener: (key: string) => void): void;
  size(): number;
}

const nodeOptions = { listen: ['/ip4/127.0.0.1/tcp/0'] };

async function meshworkNode(): Promise<BenchNode> {
  const node = await createMeshNode(nodeOptions);
  const doc: Document = node.document('bench');
  const kv: ORMap<LWWRegister<Value>> = doc.ormap('kv', lww());
  const listeners: ((key: string) => void)[] = [];
  let lastKey = '';
  doc.on('change', (e) => {
    if (e.local) {
      for (const d of e.dots) dotKeys.set(`${d.replica}:${d.seq}`, lastKey);
      return;
    }
    if (e.dots.length === 0) {
      // A snapshot: every key it holds may be new here.
      for (const key of kv.keys()) for (const l of listeners) l(key);
      return;
    }
    for (const d of e.dots) {
      // A remote event names its dot; the writer recorded the same dot on its local event.
      const key = dotKeys.get(`${d.replica}:${d.seq}`);
      if (key !== undefined) for (const l of listeners) l(key);
    }
  });
  return {
    node,
    write(key, value) {
      lastKey = key;
      kv.get(key).set(value);
    },
    writeMany(keys, value) {
      doc.transact(() => {
        for (const key of keys) kv.get(key).set(value);
      });
    },
    onArrival: (l) => void listeners.push(l),
    size: () => kv.size,
  };
}

/** Dots of all writes of the run, shared by the in-process nodes so a receiver can name the key. */
const dotKeys = new Map<string, string>();

/** The part of gossipsub the baseline provider uses. */
interface PlainPubSub {
  subscribe(topic: string): void;
  publish(topic: string, data: Uint8Array): Promise<unknown>;
  addEventListener(
    type: 'message',
    listener: (evt: CustomEvent<{ topic: string; data: Uint8Array }>) => void,
  ): void;
}

/**
 * Yjs over the same libp2p stack. Its updates are signed the way gossipsub's StrictSign signs
 * (libp2p's own Ed25519 keys, which build a key object for every signature and check): the mesh
 * node's gossipsub runs StrictNoSign, so the peer carries `author | signature | update` itself,
 * as Meshwork's envelope does.
 */
async function yjsNode(): Promise<BenchNode> {
  // Same libp2p stack; no Meshwork Document and no anti-entropy rounds.
  const privateKey = await generateKeyPair('Ed25519');
  const node = await createMeshNode({ ...nodeOptions, syncIntervalMs: 0, privateKey });
  const author = new TextEncoder().encode(node.replica);
  const pubsub = node.libp2p.services.pubsub as unknown as PlainPubSub;
  const topic = 'yjs/bench';
  const ydoc = new Y.Doc();
  const map = ydoc.getMap<string>('kv');
  const listeners: ((key: string) => void)[] = [];
  const publish = async (update: Uint8Array): Promise<void> => {
    const signature = await privateKey.sign(update);
    const data = new Uint8Array(1 + author.length + signature.length + update.length);
    data[0] = author.length;
    data.set(author, 1);
    data.set(signature, 1 + author.length);
    data.set(update, 1 + author.length + signature.length);
    await pubsub.publish(topic, data);
  };
  const receive = async (data: Uint8Array): Promise<void> => {
    const end = 1 + (data[0] ?? 0);
    const key = peerIdFromString(new TextDecoder().decode(data.subarray(1, end))).publicKey;
    const update = data.subarray(end + 64);
    if (key !== undefined && (await key.verify(update, data.subarray(end, end + 64))))
      Y.applyUpdate(ydoc, update, 'remote');
  };
  ydoc.on('update', (update: Uint8Array, origin: unknown) => {
    if (origin !== 'remote') publish(update).catch(() => undefined);
  });
  map.observe((event) => {
    if (event.transaction.local) return;
    for (const key of event.keysChanged as Set<string>) for (const l of listeners) l(key);
  });
  pubsub.subscribe(topic);
  pubsub.addEventListener('message', (evt) => {
    if (evt.detail.topic === topic) receive(evt.detail.data).catch(() => undefined);
  });
  return {
    node,
    write: (key, value) => map.set(key, value),
    writeMany: (keys, value) =>
      ydoc.transact(() => {
        for (const key of keys) map.set(key, value);
      }),
    onArrival: (l) => void listeners.push(l),
    size: () => map.size,
  };
}

const factories: Record<SystemName, () => Promise<BenchNode>> = {
  meshwork: meshworkNode,
  'gossipsub-yjs': yjsNode,
};

// ---- topology, timing ---------------------------------------------------------

function rng(seed: number): (k: number) => number {
  let s = seed >>> 0;
  return (k) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % k;
  };
}

/** Random sparse graph: each node linked to at least DEGREE others. */
function sparseTopology(nodes: number[], seed: number): [number, number][] {
  const rand = rng(seed);
  const links = new Set<string>();
  const degree = new Map(nodes.map((n) => [n, 0]));
  for (const a of nodes) {
    while ((degree.get(a) ?? 0) < DEGREE) {
      const b = nodes[rand(nodes.length)]!;
      const key = a < b ? `${a}-${b}` : `${b}-${a}`;
      if (a === b || links.has(key)) continue;
      links.add(key);
      degree.set(a, (degree.get(a) ?? 0) + 1);
      degree.set(b, (degree.get(b) ?? 0) + 1);
    }
  }
  return [...links].map((l) => l.split('-').map(Number) as [number, number]);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitUntil(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) return false;
    await sleep(5);
  }
  return true;
}

/** A running network of one system, with arrival bookkeeping per write. */
interface Net {
  nodes: BenchNode[];
  /** key → { writer, started, nodes that have it } */
  writes: Map<string, { started: number; seen: number; done?: number }>;
  stop(): Promise<void>;
}

async function startNet(system: SystemName, n: number, seed: number): Promise<Net> {
  dotKeys.clear();
  const nodes: BenchNode[] = [];
  for (let i = 0; i < n; i++) nodes.push(await factories[system]());
  const writes: Net['writes'] = new Map();
  for (const b of nodes) {
    b.onArrival((key) => {
      const w = writes.get(key);
      if (w === undefined || w.done !== undefined) return;
      w.seen++;
      if (w.seen === n) w.done = performance.now() - w.started;
    });
  }
  const edges = sparseTopology(
    nodes.map((_, i) => i),
    seed,
  );
  await Promise.all(edges.map(([a, b]) => nodes[a]!.node.dial(nodes[b]!.node.multiaddrs[0]!)));
  await sleep(SETTLE_MS);
  return {
    nodes,
    writes,
    stop: async () => {
      await Promise.all(nodes.map((b) => b.node.stop()));
    },
  };
}

function write(net: Net, writer: number, key: string): void {
  // The writer has its own write at once.
  net.writes.set(key, { started: performance.now(), seen: 1 });
  net.nodes[writer]!.write(key, `value of ${key}`);
}

// ---- workloads ------------------------------------------------------------------

async function convergence(
  system: SystemName,
  n: number,
  progress: Progress,
  writes = WRITES,
): Promise<number[]> {
  const net = await startNet(system, n, 42 + n);
  const rand = rng(7);
  try {
    for (let i = 0; i < writes; i++) {
      if (i % 10 === 0) progress.step(`n${n} ${system}: write ${i}/${writes}`);
      const key = `c${i}`;
      write(net, rand(n), key);
      await waitUntil(() => net.writes.get(key)!.done !== undefined, WRITE_TIMEOUT_MS);
      await sleep(10);
    }
    return [...net.writes.values()].map((w) => w.done ?? Infinity).sort((a, b) => a - b);
  } finally {
    await net.stop();
  }
}

async function burst(
  system: SystemName,
  n: number,
  progress: Progress,
): Promise<{ p99: number | null; bytes: number }> {
  const net = await startNet(system, n, 99);
  const rand = rng(11);
  const total = BURST_RATE * BURST_SECONDS;
  try {
    const bytesBefore = wireBytes();
    const started = performance.now();
    for (let i = 0; i < total;) {
      // Writes are issued on schedule, in 10 ms ticks.
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * BURST_RATE));
      for (; i < due; i++) write(net, rand(n), `b${i}`);
      if (i % 1000 < 10) progress.step(`burst-n${n} ${system}: ${i}/${total} writes`);
      await sleep(10);
    }
    await waitUntil(() => [...net.writes.values()].every((w) => w.done !== undefined), 30_000);
    const bytes = wireBytes() - bytesBefore;
    const times = [...net.writes.values()].map((w) => w.done ?? Infinity).sort((a, b) => a - b);
    const p99 = percentile(times, 99);
    return { p99: p99 === Infinity ? null : p99, bytes: bytes / total / n };
  } finally {
    await net.stop();
  }
}

/**
 * Partition into two halves, write HEAL_KEYS on each side, wait out gossip's
 * message cache, reconnect, and time until all nodes hold everything (null if
 * not within HEAL_TIMEOUT_MS).
 */
async function heal(system: SystemName, n: number, progress: Progress): Promise<number | null> {
  const half = n / 2;
  const nodes: BenchNode[] = [];
  for (let i = 0; i < n; i++) nodes.push(await factories[system]());
  try {
    const left = Array.from({ length: half }, (_, i) => i);
    const right = left.map((i) => i + half);
    const within = [...sparseTopology(left, 5), ...sparseTopology(right, 6)];
    const bridges: [number, number][] = [
      [0, half],
      [1, half + 1],
      [2, half + 2],
    ];
    await Promise.all(within.map(([a, b]) => nodes[a]!.node.dial(nodes[b]!.node.multiaddrs[0]!)));
    // Partition: each left node refuses every right node until healed.
    for (const l of left) for (const r of right) await nodes[l]!.node.deny(nodes[r]!.node.replica);
    await sleep(SETTLE_MS);
    // Both sides write HEAL_KEYS keys in transactions of HEAL_BATCH keys, spread over their nodes.
    for (let i = 0; i < HEAL_KEYS / HEAL_BATCH; i++) {
      const keys = Array.from({ length: HEAL_BATCH }, (_, j) => i * HEAL_BATCH + j);
      nodes[i % half]!.writeMany(
        keys.map((k) => `l${k}`),
        'left',
      );
      nodes[half + (i % half)]!.writeMany(
        keys.map((k) => `r${k}`),
        'right',
      );
      if (i % 10 === 0) {
        progress.step(`heal-n${n} ${system}: ${i * HEAL_BATCH}/${HEAL_KEYS} keys per side`);
        await sleep(5);
      }
    }
    const sideDone = await waitUntil(() => nodes.every((b) => b.size() === HEAL_KEYS), 60_000);
    if (!sideDone) return null;
    // Outlast gossipsub's message cache (5 heartbeats), so that only anti-entropy can heal.
    progress.step(`heal-n${n} ${system}: waiting out the gossip message cache`);
    await sleep(6000);
    progress.step(`heal-n${n} ${system}: reconnecting`);
    const started = performance.now();
    for (const l of left) for (const r of right) nodes[l]!.node.undeny(nodes[r]!.node.replica);
    await Promise.all(bridges.map(([a, b]) => nodes[a]!.node.dial(nodes[b]!.node.multiaddrs[0]!)));
    const healed = await waitUntil(() => nodes.every((b) => b.size() === 2 * HEAL_KEYS), HEAL_TIMEOUT_MS);
    return healed ? performance.now() - started : null;
  } finally {
    await Promise.all(nodes.map((b) => b.node.stop()));
  }
}

// ---- the suite -----------------------------------------------------------------

function row(workload: string, metric: string, unit: string, values: Record<SystemName, number | null>): Row {
  return { workload, metric, unit, better: 'lower', values };
}

export const suite: Suite = {
  name: 'mesh',
  systems: SYSTEMS,
  baseline: 'gossipsub-yjs',
  async run(progress) {
    const rows: Row[] = [];
    const systems = SYSTEMS.filter((s) => RUN_SYSTEMS.has(s));
    // Warm-up, unmeasured: both systems share the libp2p code, and whichever
    // ran first would otherwise pay for the JIT alone.
    for (const system of systems) await convergence(system, 4, progress, 50);
    for (const n of ONLY.has('convergence') ? [10, 30] : []) {
      const p50 = {} as Record<SystemName, number | null>;
      const p99 = {} as Record<SystemName, number | null>;
      // Runs alternate between the systems, in alternating order; each keeps its
      // least disturbed run (lowest p99), since other load on the machine shows
      // up as tail latency.
      for (let run = 0; run < RUNS; run++) {
        for (const system of run % 2 === 0 ? systems : [...systems].reverse()) {
          const times = await convergence(system, n, progress);
          const complete = times.every(Number.isFinite);
          const runP99 = complete ? percentile(times, 99) : null;
          const best = p99[system];
          if (run === 0 || (runP99 !== null && (best === null || best === undefined || runP99 < best))) {
            p50[system] = complete ? percentile(times, 50) : null;
            p99[system] = runP99;
          }
        }
      }
      rows.push(row(`n${n}`, 'convergence_p50_ms', 'ms', p50));
      rows.push(row(`n${n}`, 'convergence_p99_ms', 'ms', p99));
    }
    if (ONLY.has('burst')) {
      const burstP99 = {} as Record<SystemName, number | null>;
      const burstBytes = {} as Record<SystemName, number | null>;
      for (const system of systems) {
        const r = await burst(system, 10, progress);
        burstP99[system] = r.p99;
        burstBytes[system] = r.bytes;
      }
      rows.push(row('burst-n10', 'convergence_p99_ms', 'ms', burstP99));
      rows.push(row('burst-n10', 'bytes_per_update_per_node', 'B', burstBytes));
    }
    if (!ONLY.has('heal')) return rows;
    // Heal is timed twice for Meshwork and the faster run kept, like the
    // convergence runs; the baseline cannot heal, so one run tells that.
    const healMs = {} as Record<SystemName, number | null>;
    for (const system of systems) {
      const runs = system === 'meshwork' && !QUICK ? 2 : 1;
      for (let run = 0; run < runs; run++) {
        const ms = await heal(system, 10, progress);
        const best = healMs[system];
        if (run === 0 || (ms !== null && (best === null || best === undefined || ms < best)))
          healMs[system] = ms;
      }
    }
    rows.push(row('heal-n10', 'heal_ms', 'ms', healMs));
    rows.push({
      workload: 'heal-n10',
      metric: 'converged',
      unit: 'yes=1',
      better: 'higher',
      values: {
        meshwork: healMs.meshwork === null ? 0 : 1,
        'gossipsub-yjs': healMs['gossipsub-yjs'] === null ? 0 : 1,
      },
    });
    return rows;
  },
};
