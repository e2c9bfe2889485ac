/**
 * The idle cost of one daemon in a mesh, by where it goes: starts a mesh of real daemons
 * (daemon-mesh.ts), waits until every one is ready and sees every agent live, lets it settle,
 * then measures over a window with nothing to do, per daemon: CPU time and resident memory
 * (`/proc`), the V8 heap and external memory (the daemons' default Prometheus metrics), and bytes
 * and messages sent on each of Meshwork's protocols (`meshwork_transport_*_total`). Prints the
 * means, and the machine's load average at both ends of the window.
 *
 *   node bench/scale/idle-cost.ts [daemons=12] [seed=1] [settle_s=15] [window_s=60]
 *
 * IDLE_COST_PROFILE=<dir> starts every daemon with `--cpu-prof` into that directory and stops
 * them gracefully at the end, so that each writes its profile.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { sleep } from '../../packages/node/test/support/processes.ts';
import { startDaemonMesh, type MeshDaemon } from './daemon-mesh.ts';
import { liveAgents, metricSeries, metricsText, peersOf, processStats } from './observe.ts';
import { waitForAll, waitReady } from './workload.ts';

const [size = 12, seed = 1, settleS = 15, windowS = 60] = process.argv.slice(2).map(Number);
const profileDir = process.env['IDLE_COST_PROFILE'];
if (profileDir !== undefined)
  process.env['NODE_OPTIONS'] =
    `${process.env['NODE_OPTIONS'] ?? ''} --cpu-prof --cpu-prof-dir=${profileDir}`;

const COUNTERS = ['meshwork_transport_bytes_total', 'meshwork_transport_messages_total'];
const GAUGES = [
  'nodejs_heap_size_used_bytes',
  'nodejs_heap_size_total_bytes',
  'nodejs_external_memory_bytes',
];

async function sample(daemons: readonly MeshDaemon[]) {
  return {
    at: performance.now(),
    load: loadavg()[0]!,
    stats: daemons.map((d) => processStats(d.process.child.pid!)),
    io: daemons.map((d) => syscalls(d.process.child.pid!)),
    peers: await Promise.all(daemons.map(async (d) => new Set(await peersOf(d)))),
    metrics: await Promise.all(
      daemons.map(async (d) => metricSeries(await metricsText(d), [...COUNTERS, ...GAUGES])),
    ),
  };
}

/** Read and write system calls so far, from `/proc/<pid>/io`: each socket write of a frame is one. */
function syscalls(pid: number): { reads: number; writes: number } {
  const io = readFileSync(`/proc/${pid}/io`, 'utf8');
  const field = (name: string): number => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(io)?.[1]);
  return { reads: field('syscr'), writes: field('syscw') };
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

const started = performance.now();
const mesh = await startDaemonMesh({ size, seed });
try {
  const { daemons } = mesh;
  const agents = new Set(daemons.map((d) => d.agent));
  await waitReady(daemons, 300_000);
  const full = await waitForAll(
    daemons,
    async (d) => (await liveAgents(d, agents)) === agents.size || 'not all live',
    { timeoutMs: 300_000 },
  );
  console.log(
    `${size} daemons, seed ${seed}: ready and full membership ${((performance.now() - started) / 1000).toFixed(0)} s after the first launch${full.ms === null ? ' (membership NOT full)' : ''}`,
  );
  await sleep(settleS * 1000);
  const a = await sample(daemons);
  await sleep(windowS * 1000);
  const b = await sample(daemons);
  const seconds = (b.at - a.at) / 1000;
  const cpu = daemons.map((_, i) => (b.stats[i]!.cpuMs - a.stats[i]!.cpuMs) / 10 / seconds);
  console.log(`window ${seconds.toFixed(0)} s, load average ${a.load.toFixed(1)} → ${b.load.toFixed(1)}`);
  console.log(
    `cpu per daemon: mean ${mean(cpu).toFixed(2)} %, each ${cpu.map((c) => c.toFixed(1)).join(' ')}`,
  );
  const changed = daemons.map((_, i) => {
    const [p, q] = [a.peers[i]!, b.peers[i]!];
    return [...p].filter((x) => !q.has(x)).length + [...q].filter((x) => !p.has(x)).length;
  });
  console.log(
    `peers per daemon: mean ${mean(b.peers.map((p) => p.size)).toFixed(1)}, links changed over the window: mean ${mean(changed).toFixed(1)}`,
  );
  const rate = (k: 'reads' | 'writes'): string =>
    mean(daemons.map((_, i) => (b.io[i]![k] - a.io[i]![k]) / seconds)).toFixed(1);
  console.log(`system calls per daemon: ${rate('reads')} reads/s, ${rate('writes')} writes/s`);
  console.log(`rss per daemon: mean ${(mean(b.stats.map((s) => s!.rssBytes)) / 2 ** 20).toFixed(0)} MB`);
  for (const name of GAUGES)
    console.log(`${name}: mean ${(mean(b.metrics.map((m) => m.get(name) ?? NaN)) / 2 ** 20).toFixed(1)} MB`);
  const presenceOut = 'meshwork_transport_bytes_total{protocol="presence",direction="out"}';
  const meshPresence = daemons.reduce(
    (sum, _, i) => sum + (b.metrics[i]!.get(presenceOut) ?? 0) - (a.metrics[i]!.get(presenceOut) ?? 0),
    0,
  );
  // Each link has two ends: a link that came or went counts once.
  const links = changed.reduce((x, y) => x + y, 0) / 2;
  if (links > 0)
    console.log(
      `membership bytes sent mesh-wide per link that came or went: ${(meshPresence / links / 1024).toFixed(0)} KB`,
    );
  for (const key of [...b.metrics[0]!.keys()].filter((k) => COUNTERS.some((c) => k.startsWith(c)))) {
    const rate = mean(
      daemons.map((_, i) => ((b.metrics[i]!.get(key) ?? 0) - (a.metrics[i]!.get(key) ?? 0)) / seconds),
    );
    if (rate > 0) console.log(`${key}: ${rate.toFixed(1)}/s per daemon`);
  }
  if (profileDir !== undefined) await Promise.all(daemons.map((d) => mesh.stop(d, 'SIGTERM')));
} finally {
  await mesh.close();
}
