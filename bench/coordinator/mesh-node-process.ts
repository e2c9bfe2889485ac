/**
 * One Meshwork node of the coordinator bench, in its own process so that the suite can
 * SIGKILL it: a libp2p mesh node, the coordination Document, a coordinator with two
 * agents. Talks to the suite over IPC.
 */
import { createDocument, type Value } from '@meshwork/core';
import { createCoordinator, type WorkflowTemplate } from '@meshwork/coordinator';
import { createMeshNode } from '@meshwork/transport';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { tolerateClosedStreamWrites } from '../../packages/node/src/closed-stream-writes.ts';

const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

export type Command =
  | { readonly cmd: 'dial'; readonly addrs: string[] }
  | { readonly cmd: 'submit'; readonly ids: string[]; readonly type: 'noop' | 'sleep' | 'work' }
  | { readonly cmd: 'workflow'; readonly id: string; readonly items: number }
  | { readonly cmd: 'query'; readonly ids: string[]; readonly workflow?: string }
  | { readonly cmd: 'agents' }
  | { readonly cmd: 'exit' };

export type Report =
  | { readonly type: 'ready'; readonly addr: string; readonly replica: string }
  | { readonly type: 'agents'; readonly alive: number; readonly peers: number }
  | {
      /** Every 50 ms, one message: each IPC write costs the measured node a system call. */
      readonly type: 'done';
      readonly count: number;
      readonly cpuMs: number;
      /**
       * The starts since the last report, one line each, `task submittedAt at agent epoch`
       * separated by tabs: one string is far cheaper to send than an array per start.
       */
      readonly starts: string;
    }
  | {
      readonly type: 'query';
      /** Per task: status, epoch, agent, accepted result as JSON with sorted keys. */
      readonly rows: [id: string, status: string, epoch: number, agent: string | null, result: string][];
      readonly workflow: string | null;
    };

const index = Number(process.argv[2] ?? 0);
const capacity = Number(process.argv[3] ?? 64);
const retainMs = Number(process.argv[4] ?? 2000);
/** `fixed-links`: no peer discovery, so the node keeps the links it is told to dial and no others. */
const fixedLinks = process.argv[5] === 'fixed-links';
const send = (r: Report): void => void process.send!(r);

// As `meshwork start` does: a killed peer's connection must not end the nodes that were talking to it.
tolerateClosedStreamWrites((err) =>
  process.stderr.write(`node${index}: a stream write on a closed connection was dropped: ${err.message}\n`),
);

const mesh = await createMeshNode({
  syncIntervalMs: 2000,
  batchMs: 2,
  gossipHeartbeatMs: 200,
  redial: { baseMs: 100, maxMs: 1000 },
  ...(fixedLinks ? { topology: { announceMs: 0 } } : {}),
});
// The event log must outlast the run: a peer that falls behind the log is sent a full snapshot,
// and a snapshot of a Document holding every task of the run stalls the node for seconds.
const doc = mesh.attach(
  createDocument({
    replica: mesh.replica,
    name: 'coordination',
    log: { maxEvents: 2_000_000, maxBytes: 512 * 1024 * 1024 },
  }),
);
const now = (): number => performance.timeOrigin + performance.now();
const coord = createCoordinator({
  document: doc,
  presence: mesh.presence,
  // Finished tasks leave the Document during the run, so the figures include removing them.
  retention: { finishedMs: retainMs },
  clock: {
    now,
    setTimer(fn, ms) {
      const h = setTimeout(fn, ms);
      return () => clearTimeout(h);
    },
  },
});
for (let a = 0; a < 2; a++) {
  coord.registerAgent({
    id: `node${index}-agent${a}`,
    capabilities: ['noop', 'sleep', 'work'],
    capacity,
    handler: (task, ctx) =>
      task.spec.type === 'noop'
        ? null
        : new Promise<Value>((resolve, reject) => {
            const ms = task.spec.type === 'work' ? 20 + ((task.id.length * 7919 + ctx.epoch) % 80) : 120_000;
            const input = ctx.input as { n?: number; items?: number[] } | null;
            const result: Value =
              input?.n !== undefined ? input.n * 2 : (input?.items ?? []).reduce((a, b) => a + b, 0);
            const h = setTimeout(() => resolve(result), ms);
            ctx.signal.addEventListener('abort', () => {
              clearTimeout(h);
              reject(new Error('aborted'));
            });
          }),
  });
}

/** fetch → one task per item (in parallel) → a task that receives all their results. */
const pipeline: WorkflowTemplate = {
  name: 'mesh-pipeline',
  params: ['items'],
  steps: [
    { id: 'fetch', type: 'work', input: { items: 'params.items' } },
    { id: 'each', type: 'work', forEach: 'params.items', input: { n: 'item' } },
    { id: 'total', type: 'work', input: { items: 'steps.each.results' } },
  ],
};

function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x !== null && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1)))
      : x,
  );
}

let starts: string[] = [];
let done = 0;
let ticks = 0;
coord.events.on('start', (e) => starts.push(`${e.task}\t${e.submittedAt}\t${e.at}\t${e.agent}\t${e.epoch}`));
coord.events.on('attempt', () => done++);
setInterval(() => {
  const cpu = process.cpuUsage();
  send({ type: 'done', count: done, cpuMs: (cpu.user + cpu.system) / 1000, starts: starts.join('\n') });
  starts = [];
  if (process.env['COORD_BENCH_DEBUG'] !== undefined && ++ticks % 40 === 0) {
    const byStatus: Record<string, number> = {};
    for (const t of coord.list()) byStatus[t.status] = (byStatus[t.status] ?? 0) + 1;
    console.error(
      `node${index} ${JSON.stringify(byStatus)} agents=${JSON.stringify(coord.agents().map((a) => [a.id, a.alive, a.load]))}`,
    );
  }
  if (process.env['COORD_BENCH_DEBUG'] !== undefined)
    console.error(
      `node${index} settle=${coord.settleMs()} done=${done} loop-p99=${(loopDelay.percentile(99) / 1e6).toFixed(0)}ms`,
    );
}, 50);

process.on('message', (m: Command) => {
  switch (m.cmd) {
    case 'dial':
      for (const a of m.addrs) void mesh.dial(a).catch(() => undefined);
      return;
    case 'submit':
      // One transaction for the batch: one Document event (encoded, gossiped, signed, applied) instead of one per task.
      doc.transact(() => {
        for (const id of m.ids) coord.submit({ id, type: m.type, retry: { maxAttempts: 10 } });
      });
      return;
    case 'exit':
      process.exit(0);
      return;
    case 'workflow':
      coord.workflows.start(
        pipeline,
        { items: Array.from({ length: m.items }, (_, i) => i + 1) },
        { id: m.id },
      );
      return;
    case 'query': {
      const rows: [string, string, number, string | null, string][] = m.ids.map((id) => {
        const t = coord.get(id);
        return t === null
          ? [id, 'unknown', 0, null, 'null']
          : [id, t.status, t.epoch, t.agent, canonical(t.result)];
      });
      send({
        type: 'query',
        rows,
        workflow: m.workflow === undefined ? null : (coord.workflows.get(m.workflow)?.status ?? null),
      });
      return;
    }
    case 'agents':
      send({
        type: 'agents',
        alive: coord.agents().filter((a) => a.alive).length,
        peers: mesh.peers().length,
      });
      return;
  }
});
send({ type: 'ready', addr: mesh.multiaddrs[0]!.toString(), replica: mesh.replica });
