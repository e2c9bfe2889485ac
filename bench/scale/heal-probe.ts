/**
 * A partition's heal, measured closely: starts a mesh of real daemons (daemon-mesh.ts), runs
 * tasks, cuts the last third off by allow-lists (as the scale suite does), runs tasks on each side,
 * then lifts the lists and follows every daemon on its own until it shows every agent live and
 * every task finished. Prints when each daemon got there, the mesh's CPU time over the heal (and
 * so how many of the machine's cores it kept busy), and what the daemons sent and took in
 * meanwhile, from their `meshwork_transport_*`, `meshwork_sync_rounds_total` and
 * `meshwork_events_received_total` (applied, or duplicates) counters.
 *
 *   node bench/scale/heal-probe.ts [daemons=16] [tasks=200] [side_tasks=20] [cut_s=30]
 *
 * HEAL_PROBE_CLI=<cli.js> runs that `meshwork` entry point (an installed build, see
 * installed-cli.ts) instead of the sources.
 */
import { sleep } from '../../packages/node/test/support/processes.ts';
import { startDaemonMesh, type MeshDaemon } from './daemon-mesh.ts';
import {
  countIn,
  FINISHED,
  liveAgents,
  metricSeries,
  metricsText,
  processStats,
  taskCounts,
} from './observe.ts';
import { moduleTask, submitSpread, waitForAll, waitReady } from './workload.ts';

const [size = 16, tasks = 200, sideTasks = 20, cutS = 30] = process.argv.slice(2).map(Number);
const cli = process.env['HEAL_PROBE_CLI'];

const COUNTERS = [
  'meshwork_transport_bytes_total',
  'meshwork_transport_messages_total',
  'meshwork_sync_rounds_total',
  'meshwork_events_received_total',
];
const WAIT_MS = 600_000;

const finished = async (d: MeshDaemon): Promise<number> => countIn(await taskCounts(d), FINISHED);

/** The counters summed over the mesh, by series. */
async function meshCounters(daemons: readonly MeshDaemon[]): Promise<Map<string, number>> {
  const sums = new Map<string, number>();
  for (const d of daemons)
    for (const [series, value] of metricSeries(await metricsText(d), COUNTERS))
      sums.set(series, (sums.get(series) ?? 0) + value);
  return sums;
}

const cpuMs = (daemons: readonly MeshDaemon[]): number =>
  daemons.reduce((sum, d) => sum + (processStats(d.process.child.pid!)?.cpuMs ?? 0), 0);

const mesh = await startDaemonMesh({ size, seed: 1, capacity: 8, ...(cli !== undefined ? { cli } : {}) });
try {
  const { daemons } = mesh;
  const agents = new Set(daemons.map((d) => d.agent));
  await waitReady(daemons, WAIT_MS);
  await waitForAll(daemons, async (d) => (await liveAgents(d, agents)) === agents.size || 'not all live', {
    timeoutMs: WAIT_MS,
  });
  const submit = async (side: readonly MeshDaemon[], prefix: string, n: number, total: number) => {
    const bodies = Array.from({ length: n }, (_, i) => moduleTask(`${prefix}-${i}`, 'noop'));
    await submitSpread(side, bodies, { concurrency: 16 });
    await waitForAll(side, async (d) => (await finished(d)) === total || 'tasks open', {
      timeoutMs: WAIT_MS,
    });
  };
  await submit(daemons, 'before', tasks, tasks);
  const third = Math.floor(size / 3);
  const minority = daemons.slice(size - third);
  const majority = daemons.slice(0, size - third);
  const cutAt = performance.now();
  await Promise.all([
    ...minority.map((d) => mesh.admit(d, minority)),
    ...majority.map((d) => mesh.admit(d, majority)),
  ]);
  await Promise.all([
    submit(majority, 'majority', sideTasks, tasks + sideTasks),
    submit(minority, 'minority', sideTasks, tasks + sideTasks),
  ]);
  await sleep(Math.max(0, cutS * 1000 - (performance.now() - cutAt)));

  const countersBefore = await meshCounters(daemons);
  const cpuBefore = cpuMs(daemons);
  const healAt = performance.now();
  await Promise.all(daemons.map((d) => mesh.admit(d)));
  const liveAt = new Map<string, number>();
  const tasksAt = new Map<string, number>();
  await Promise.all(
    daemons.map(async (d) => {
      while ((!liveAt.has(d.name) || !tasksAt.has(d.name)) && performance.now() - healAt < WAIT_MS) {
        try {
          if (!liveAt.has(d.name) && (await liveAgents(d, agents)) === agents.size)
            liveAt.set(d.name, performance.now() - healAt);
          if (!tasksAt.has(d.name) && (await finished(d)) === tasks + 2 * sideTasks)
            tasksAt.set(d.name, performance.now() - healAt);
        } catch {
          // Busy or reloading: asked again.
        }
        await sleep(100);
      }
    }),
  );
  const healMs = performance.now() - healAt;
  const cpu = cpuMs(daemons) - cpuBefore;
  const counters = await meshCounters(daemons);

  const spread = (m: ReadonlyMap<string, number>): string => {
    const ms = [...m.values()].sort((a, b) => a - b);
    if (ms.length < size) return `${ms.length} of ${size} daemons within ${WAIT_MS / 1000} s`;
    return `median ${(ms[Math.floor(ms.length / 2)]! / 1000).toFixed(2)} s, last ${(ms.at(-1)! / 1000).toFixed(2)} s`;
  };
  console.log(`${size} daemons, ${tasks} tasks, ${sideTasks} a side of a ${cutS} s cut`);
  console.log(
    `heal ${(healMs / 1000).toFixed(2)} s; CPU ${(cpu / 1000).toFixed(1)} s over it (${(cpu / healMs).toFixed(2)} cores)`,
  );
  console.log(`every agent live: ${spread(liveAt)}; every task: ${spread(tasksAt)}`);
  for (const [key, value] of counters) {
    const delta = value - (countersBefore.get(key) ?? 0);
    if (delta > 0) console.log(`${key} ${delta}`);
  }
} finally {
  await mesh.close();
}
