/**
 * `pnpm bench coordinator`: Meshwork nodes, each its own process on the real libp2p transport
 * over loopback, two agents per node, no-op tasks. First three fully connected nodes: throughput
 * and CPU time per task with 1,000 tasks in flight and with 3,000 (`noop-3-nodes-saturated`: past
 * what the nodes turn over, so throughput shows capacity), the time from submit to start (under
 * those loads, and under light load in `noop-3-nodes-light`), duplicate starts over 20,000
 * fault-free tasks per run, and failover when a node holding running tasks is SIGKILLed. Then
 * the same figures on twelve nodes in a sparse mesh (`noop-12-nodes-sparse`), where each node
 * links to one or two earlier ones and every message crosses several hops.
 * Peers (BullMQ) join later.
 */
import { connectedWithout, sparseLinks, type Links } from '../sparse-topology.ts';
import { startCluster, until, type ClusterNode } from '../coordinator/mesh-cluster.ts';
import { percentile, type Progress, type Row, type Suite } from '../report.ts';

const size = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);

const TASKS = size('COORD_BENCH_TASKS', 20_000);
const WARMUP = 1_000;
/** Tasks submitted but not yet finished, at most; the submitters keep this many in flight. */
const IN_FLIGHT = size('COORD_BENCH_IN_FLIGHT', 1_000);
/** The saturated run: more in flight than the nodes can turn over, so throughput shows their capacity. */
const SATURATED_IN_FLIGHT = 3_000;
/** The light-load run: few tasks in flight, so submit→start shows coordination, not queueing. */
const LIGHT_TASKS = 2_000;
const LIGHT_IN_FLIGHT = 32;
const LIGHT_WARMUP = 256;
/** The sparse mesh: twelve processes share the machine's cores, so fewer tasks than on three. */
const SPARSE_NODES = 12;
const SPARSE_SEED = 1;
const SPARSE_TASKS = size('COORD_BENCH_SPARSE_TASKS', 5_000);
const SPARSE_IN_FLIGHT = size('COORD_BENCH_SPARSE_IN_FLIGHT', 1_000);
const SPARSE_WARMUP = 500;
const CAPACITY = 256;
/**
 * Finished tasks leave the Document this long after they finish, so the steady state includes
 * removing them; the light-load run starts once the previous run's tasks are gone.
 */
const RETAIN_MS = size('COORD_BENCH_RETAIN_MS', 2000);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const now = (): number => performance.timeOrigin + performance.now();

interface Start {
  readonly submittedAt: number;
  readonly at: number;
  readonly agent: string;
  readonly epoch: number;
}

/** A running cluster as the suite drives it. */
interface BenchCluster {
  readonly nodes: readonly ClusterNode[];
  /** Its links when sparse; undefined when every node is linked to every other. */
  readonly links: Links | undefined;
  /** Every start the nodes reported, by task. */
  readonly starts: ReadonlyMap<string, readonly Start[]>;
  /** Attempts ended, over all nodes. */
  completed(): number;
  /** CPU time used, over all node processes. */
  cpuMs(): number;
  /** SIGKILLs a node on purpose (its exit is not reported as a failure). */
  kill(index: number): void;
}

/** Starts a cluster, hands it to `measure`, and stops every node whatever happens. */
async function withCluster<T>(
  options: { readonly size: number; readonly links?: Links; readonly timeoutMs: number },
  measure: (cluster: BenchCluster) => Promise<T>,
): Promise<T> {
  const nodes: ClusterNode[] = [];
  const starts = new Map<string, Start[]>();
  const stopping = new Set<ClusterNode>();
  try {
    await startCluster({
      size: options.size,
      capacity: CAPACITY,
      retainMs: RETAIN_MS,
      ...(options.links !== undefined ? { links: options.links } : {}),
      into: nodes,
      timeoutMs: options.timeoutMs,
      execArgv: process.env['COORD_BENCH_PROF'] ? ['--cpu-prof', '--cpu-prof-dir=/tmp/coordprof'] : [],
      onReport: (_node, r) => {
        if (r.type !== 'done' || r.starts === '') return;
        for (const line of r.starts.split('\n')) {
          const [task = '', submittedAt, at, agent = '', epoch] = line.split('\t');
          const start = { submittedAt: Number(submittedAt), at: Number(at), agent, epoch: Number(epoch) };
          starts.set(task, [...(starts.get(task) ?? []), start]);
        }
      },
    });
    nodes.forEach((n, i) =>
      n.child.on('exit', (code, signal) => {
        if (!stopping.has(n))
          console.error(`coordinator bench: node ${i} exited (${signal ?? `code ${code}`})`);
      }),
    );
    return await measure({
      nodes,
      links: options.links,
      starts,
      completed: () => nodes.reduce((s, n) => s + n.done, 0),
      cpuMs: () => nodes.reduce((s, n) => s + n.cpuMs, 0),
      kill(index) {
        stopping.add(nodes[index]!);
        nodes[index]!.child.kill('SIGKILL');
      },
    });
  } finally {
    for (const n of nodes) {
      stopping.add(n);
      if (n.child.exitCode === null && n.child.signalCode === null) n.send({ cmd: 'exit' });
    }
    await sleep(500);
    for (const n of nodes) n.child.kill('SIGKILL');
  }
}

/** A measured series: tasks `${prefix}-0` to `${prefix}-${count - 1}`. */
interface Series {
  readonly prefix: string;
  readonly count: number;
  /** Completions per second between the 10 % and 90 % marks (steady state). */
  readonly perSecond: number;
  /** CPU time the node processes spent per task over the same stretch. */
  readonly cpuMsPerTask: number;
}

/**
 * Runs `count` no-op tasks, submitted in batches of up to 100 to the nodes in turn, keeping at
 * most `inFlight` submitted and not yet finished.
 */
async function runSeries(
  cluster: BenchCluster,
  progress: Progress,
  o: { readonly prefix: string; readonly count: number; readonly inFlight: number; readonly label: string },
): Promise<Series> {
  const { prefix, count, inFlight, label } = o;
  const base = cluster.completed();
  const done = (): number => cluster.completed() - base;
  let submitted = 0;
  const started = now();
  let at10: { at: number; done: number; cpu: number } | null = null;
  let at90: { at: number; done: number; cpu: number } | null = null;
  let last = { done: -1, at: now() };
  while (done() < count) {
    if (done() !== last.done) last = { done: done(), at: now() };
    else if (now() - last.at > 60_000)
      throw new Error(`${label}: no task finished for 60 s (${last.done}/${count})`);
    while (submitted < count && submitted - done() < inFlight) {
      const batch = Math.min(100, count - submitted, inFlight);
      const ids = Array.from({ length: batch }, (_, i) => `${prefix}-${submitted + i}`);
      cluster.nodes[Math.floor(submitted / batch) % cluster.nodes.length]!.send({
        cmd: 'submit',
        ids,
        type: 'noop',
      });
      submitted += batch;
    }
    const d = done();
    if (at10 === null && d >= count * 0.1) at10 = { at: now(), done: d, cpu: cluster.cpuMs() };
    if (at90 === null && d >= count * 0.9) at90 = { at: now(), done: d, cpu: cluster.cpuMs() };
    progress.step(`${label}: ${d}/${count} done`);
    await sleep(10);
  }
  const from = at10 ?? { at: started, done: 0, cpu: 0 };
  const to = at90 ?? { at: now(), done: done(), cpu: cluster.cpuMs() };
  return {
    prefix,
    count,
    perSecond: (to.done - from.done) / ((to.at - from.at) / 1000),
    cpuMsPerTask: (to.cpu - from.cpu) / Math.max(1, to.done - from.done),
  };
}

interface SeriesStarts {
  /** Submit→start of each started task, ascending. */
  readonly latencies: number[];
  /** Starts beyond a task's first. */
  readonly duplicates: number;
}

/**
 * The series' starts as reported so far: submit→start of each task's first start, ascending,
 * and every start beyond a task's first (each logged). Read after the series, not at its end,
 * so that a late second start is counted.
 */
function startsOf(cluster: BenchCluster, series: Series): SeriesStarts {
  const latencies: number[] = [];
  let duplicates = 0;
  for (let i = 0; i < series.count; i++) {
    const task = `${series.prefix}-${i}`;
    const s = cluster.starts.get(task) ?? [];
    duplicates += Math.max(0, s.length - 1);
    if (s.length > 1) {
      const t0 = s[0]!.submittedAt;
      const detail = s.map((x) => `${x.agent}@epoch${x.epoch}+${Math.round(x.at - t0)}ms`).join(', ');
      console.error(`coordinator bench: ${task} started ${s.length} times: ${detail}`);
    }
    if (s.length > 0) latencies.push(Math.min(...s.map((x) => x.at)) - s[0]!.submittedAt);
  }
  latencies.sort((a, b) => a - b);
  return { latencies, duplicates };
}

/**
 * Submits `tasks` long tasks to node 0, SIGKILLs a node holding some of them once all have
 * started, and returns the time from the kill until each of its tasks has started on another
 * node (null when they did not within 60 s). The victim is the first of nodes 1, 2, … then 0
 * that holds some and whose loss leaves the other nodes linked to one another.
 */
async function measureFailover(
  cluster: BenchCluster,
  progress: Progress,
  tasks: number,
): Promise<number | null> {
  const { nodes, starts, links } = cluster;
  progress.step(`failover: ${tasks} long tasks, then SIGKILL a node holding some`);
  const ids = Array.from({ length: tasks }, (_, i) => `failover-${i}`);
  nodes[0]!.send({ cmd: 'submit', ids, type: 'sleep' });
  await until('long tasks to start', () => ids.every((t) => starts.has(t)), 30_000);
  const on = (node: number) => (s: Start) => s.agent.startsWith(`node${node}-`);
  const held = (node: number): string[] => ids.filter((t) => on(node)(starts.get(t)![0]!));
  const order = [...nodes.keys()].map((i) => (i + 1) % nodes.length);
  const victim = order.find((i) => held(i).length > 0 && (links === undefined || connectedWithout(links, i)));
  if (victim === undefined) {
    console.error(
      'coordinator bench: failover: no node holding a long task can go without splitting the mesh',
    );
    return null;
  }
  const lost = held(victim);
  const killedAt = now();
  cluster.kill(victim);
  const movedAt = (t: string): number | undefined =>
    starts.get(t)!.find((s) => s.at > killedAt && !on(victim)(s))?.at;
  try {
    await until(
      'tasks of the killed node to run elsewhere',
      () => lost.every((t) => movedAt(t) !== undefined),
      60_000,
    );
  } catch (e) {
    console.error(`coordinator bench: ${String(e)}`);
    return null;
  }
  return Math.max(...lost.map((t) => movedAt(t)!)) - killedAt;
}

const METRICS = {
  tasks_per_s: { unit: 'tasks/s', better: 'higher' },
  cpu_ms_per_task: { unit: 'ms', better: 'lower' },
  submit_to_start_p50_ms: { unit: 'ms', better: 'lower' },
  submit_to_start_p99_ms: { unit: 'ms', better: 'lower' },
  failover_ms: { unit: 'ms', better: 'lower' },
  duplicate_starts: { unit: 'starts', better: 'lower' },
} as const satisfies Record<string, Pick<Row, 'unit' | 'better'>>;
type Metric = keyof typeof METRICS;
type Figures = Record<Metric, number | null>;
const ALL_METRICS = Object.keys(METRICS) as Metric[];

/** A series' figures; failover is measured apart, after it. */
function figuresOf(series: Series, starts: SeriesStarts): Figures {
  return {
    tasks_per_s: series.perSecond,
    cpu_ms_per_task: series.cpuMsPerTask,
    submit_to_start_p50_ms: percentile(starts.latencies, 50),
    submit_to_start_p99_ms: percentile(starts.latencies, 99),
    failover_ms: null,
    duplicate_starts: starts.duplicates,
  };
}

/** A workload's rows: the metrics given, in that order. */
function rows(workload: string, figures: Figures, metrics: readonly Metric[]): Row[] {
  return metrics.map((metric) => ({
    workload,
    metric,
    ...METRICS[metric],
    values: { meshwork: figures[metric] },
  }));
}

/** Connected peers per node, fewest and most, as the nodes answer now. */
async function peerCounts(cluster: BenchCluster): Promise<string> {
  for (const n of cluster.nodes) n.send({ cmd: 'agents' });
  await sleep(500);
  const peers = cluster.nodes.map((n) => n.peers);
  return `${Math.min(...peers)}–${Math.max(...peers)}`;
}

/** Three fully connected nodes: 1,000 in flight, saturated, light load, then failover. */
function threeNodes(progress: Progress): Promise<Row[]> {
  progress.step('starting 3 mesh nodes');
  return withCluster({ size: 3, timeoutMs: 60_000 }, async (cluster) => {
    const series = (prefix: string, count: number, label: string, inFlight = IN_FLIGHT) =>
      runSeries(cluster, progress, { prefix, count, inFlight, label });
    await series('warm', WARMUP, 'warm-up');
    const loaded = await series('task', TASKS, 'no-op tasks');
    const saturated = await series('sat', TASKS, 'saturated', SATURATED_IN_FLIGHT);
    progress.step('waiting for finished tasks to be removed');
    await sleep(2 * RETAIN_MS + 500);
    // Light-load warm-up: the settle window still follows the delays measured under overload
    // until fresh ones replace them; the measured run starts once they have.
    await series('light-warm', LIGHT_WARMUP, 'light-load warm-up', LIGHT_IN_FLIGHT);
    const light = await series('light', LIGHT_TASKS, 'light load', LIGHT_IN_FLIGHT);
    await sleep(500);
    const figures = {
      loaded: figuresOf(loaded, startsOf(cluster, loaded)),
      saturated: figuresOf(saturated, startsOf(cluster, saturated)),
      light: figuresOf(light, startsOf(cluster, light)),
    };
    const failoverMs = await measureFailover(cluster, progress, 6);
    return [
      ...rows('noop-3-nodes', { ...figures.loaded, failover_ms: failoverMs }, ALL_METRICS),
      ...rows('noop-3-nodes-saturated', figures.saturated, [
        'tasks_per_s',
        'cpu_ms_per_task',
        'submit_to_start_p50_ms',
        'duplicate_starts',
      ]),
      ...rows('noop-3-nodes-light', figures.light, [
        'submit_to_start_p50_ms',
        'submit_to_start_p99_ms',
        'duplicate_starts',
      ]),
    ];
  });
}

/** Twelve sparsely linked nodes: one series at `SPARSE_IN_FLIGHT`, then failover. */
function sparseNodes(progress: Progress): Promise<Row[]> {
  const links = sparseLinks(SPARSE_NODES, SPARSE_SEED);
  progress.step(`starting ${SPARSE_NODES} mesh nodes, sparsely linked`);
  return withCluster({ size: SPARSE_NODES, links, timeoutMs: 180_000 }, async (cluster) => {
    const label = `${SPARSE_NODES} sparse nodes`;
    const atStart = await peerCounts(cluster);
    const inFlight = SPARSE_IN_FLIGHT;
    await runSeries(cluster, progress, {
      prefix: 'sparse-warm',
      count: SPARSE_WARMUP,
      inFlight,
      label: `${label} warm-up`,
    });
    const loaded = await runSeries(cluster, progress, {
      prefix: 'sparse',
      count: SPARSE_TASKS,
      inFlight,
      label,
    });
    await sleep(500);
    const figures = figuresOf(loaded, startsOf(cluster, loaded));
    console.error(
      `coordinator bench: ${label}: peers per node ${atStart} at start, ${await peerCounts(cluster)} after the tasks`,
    );
    const failoverMs = await measureFailover(cluster, progress, SPARSE_NODES);
    return rows(`noop-${SPARSE_NODES}-nodes-sparse`, { ...figures, failover_ms: failoverMs }, ALL_METRICS);
  });
}

export const suite: Suite = {
  name: 'coordinator',
  systems: ['meshwork'],
  baseline: 'meshwork',
  async run(progress: Progress): Promise<Row[]> {
    return [...(await threeNodes(progress)), ...(await sparseNodes(progress))];
  },
};
