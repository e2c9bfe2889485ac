/**
 * `pnpm bench coordinator`: three Meshwork nodes, each its own process on the real libp2p
 * transport over loopback, two agents per node, no-op tasks. Measures throughput and CPU time
 * per task with 1,000 tasks in flight and with 3,000 (`noop-3-nodes-saturated`: past what the
 * nodes turn over, so throughput shows capacity), the time from submit to start (under those
 * loads, and under light load in `noop-3-nodes-light`), duplicate starts over 20,000
 * fault-free tasks per run, and failover when a node holding running tasks is SIGKILLed.
 * Peers (BullMQ) join later.
 */
import { startCluster, until, type ClusterNode } from '../coordinator/mesh-cluster.ts';
import { percentile, type Progress, type Row, type Suite } from '../report.ts';

const NODES = 3;
const TASKS = Number(process.env['COORD_BENCH_TASKS'] ?? 20_000);
const WARMUP = 1_000;
/** Tasks submitted but not yet finished, at most; the submitters keep this many in flight. */
const IN_FLIGHT = Number(process.env['COORD_BENCH_IN_FLIGHT'] ?? 1_000);
/** The saturated run: more in flight than the nodes can turn over, so throughput shows their capacity. */
const SATURATED_IN_FLIGHT = 3_000;
/** The light-load run: few tasks in flight, so submit→start shows coordination, not queueing. */
const LIGHT_TASKS = 2_000;
const LIGHT_IN_FLIGHT = 32;
const LIGHT_WARMUP = 256;
const CAPACITY = 256;
/**
 * Finished tasks leave the Document this long after they finish, so the steady state includes
 * removing them; the light-load run starts once the previous run's tasks are gone.
 */
const RETAIN_MS = Number(process.env['COORD_BENCH_RETAIN_MS'] ?? 2000);

export const suite: Suite = {
  name: 'coordinator',
  systems: ['meshwork'],
  baseline: 'meshwork',
  async run(progress: Progress): Promise<Row[]> {
    const starts = new Map<string, { submittedAt: number; at: number; agent: string; epoch: number }[]>();
    const now = (): number => performance.timeOrigin + performance.now();
    const nodes: ClusterNode[] = [];
    /** Set once the suite kills nodes on purpose. */
    let finishing = false;
    try {
      progress.step('starting 3 mesh nodes');
      await startCluster({
        size: NODES,
        capacity: CAPACITY,
        retainMs: RETAIN_MS,
        into: nodes,
        timeoutMs: 60_000,
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
          if (!finishing) console.error(`coordinator bench: node ${i} exited (${signal ?? `code ${code}`})`);
        }),
      );

      const completed = (): number => nodes.reduce((s, n) => s + n.done, 0);
      const cpuMs = (): number => nodes.reduce((s, n) => s + n.cpuMs, 0);
      /**
       * Runs `count` tasks; returns the completion rate between the 10 % and 90 % marks (steady
       * state) and the CPU time the node processes spent per task over the same stretch.
       */
      const runTasks = async (
        prefix: string,
        count: number,
        label: string,
        inFlight = IN_FLIGHT,
      ): Promise<{ perSecond: number; cpuMsPerTask: number }> => {
        const base = completed();
        let submitted = 0;
        const started = now();
        let at10: { at: number; done: number; cpu: number } | null = null;
        let at90: { at: number; done: number; cpu: number } | null = null;
        let last = { done: -1, at: now() };
        while (completed() - base < count) {
          if (completed() !== last.done) last = { done: completed(), at: now() };
          else if (now() - last.at > 60_000)
            throw new Error(`${label}: no task finished for 60 s (${last.done - base}/${count})`);
          while (submitted < count && submitted - (completed() - base) < inFlight) {
            const batch = Math.min(100, count - submitted, inFlight);
            const ids = Array.from({ length: batch }, (_, i) => `${prefix}-${submitted + i}`);
            nodes[Math.floor(submitted / batch) % NODES]!.send({ cmd: 'submit', ids, type: 'noop' });
            submitted += batch;
          }
          const done = completed() - base;
          if (at10 === null && done >= count * 0.1) at10 = { at: now(), done, cpu: cpuMs() };
          if (at90 === null && done >= count * 0.9) at90 = { at: now(), done, cpu: cpuMs() };
          progress.step(`${label}: ${done}/${count} done`);
          await new Promise((r) => setTimeout(r, 10));
        }
        const from = at10 ?? { at: started, done: 0, cpu: 0 };
        const to = at90 ?? { at: now(), done: completed() - base, cpu: cpuMs() };
        return {
          perSecond: (to.done - from.done) / ((to.at - from.at) / 1000),
          cpuMsPerTask: (to.cpu - from.cpu) / Math.max(1, to.done - from.done),
        };
      };
      await runTasks('warm', WARMUP, 'warm-up');
      const heavy = await runTasks('task', TASKS, 'no-op tasks');
      const saturated = await runTasks('sat', TASKS, 'saturated', SATURATED_IN_FLIGHT);
      progress.step('waiting for finished tasks to be removed');
      await new Promise((r) => setTimeout(r, 2 * RETAIN_MS + 500));
      // Light-load warm-up: the settle window still follows the delays measured under overload
      // until fresh ones replace them; the measured run starts once they have.
      await runTasks('light-warm', LIGHT_WARMUP, 'light-load warm-up', LIGHT_IN_FLIGHT);
      await runTasks('light', LIGHT_TASKS, 'light load', LIGHT_IN_FLIGHT);
      await new Promise((r) => setTimeout(r, 500));
      const measure = (prefix: string, count: number) => {
        const latencies: number[] = [];
        let duplicates = 0;
        for (let i = 0; i < count; i++) {
          const s = starts.get(`${prefix}-${i}`) ?? [];
          duplicates += Math.max(0, s.length - 1);
          if (s.length > 1) {
            const t0 = s[0]!.submittedAt;
            const detail = s.map((x) => `${x.agent}@epoch${x.epoch}+${Math.round(x.at - t0)}ms`).join(', ');
            console.error(`coordinator bench: ${prefix}-${i} started ${s.length} times: ${detail}`);
          }
          if (s.length > 0) latencies.push(Math.min(...s.map((x) => x.at)) - s[0]!.submittedAt);
        }
        latencies.sort((a, b) => a - b);
        return { latencies, duplicates };
      };
      const loaded = measure('task', TASKS);
      const overloaded = measure('sat', TASKS);
      const light = measure('light', LIGHT_TASKS);

      progress.step('failover: 6 long tasks, then SIGKILL a node holding some');
      const fo = Array.from({ length: 6 }, (_, i) => `failover-${i}`);
      nodes[0]!.send({ cmd: 'submit', ids: fo, type: 'sleep' });
      await until('long tasks to start', () => fo.every((t) => starts.has(t)), 30_000);
      const holder = (t: string): string => starts.get(t)![0]!.agent;
      const victimIndex = [1, 2, 0].find((i) => fo.some((t) => holder(t).startsWith(`node${i}-`)))!;
      const lost = fo.filter((t) => holder(t).startsWith(`node${victimIndex}-`));
      const killedAt = now();
      finishing = true;
      nodes[victimIndex]!.child.kill('SIGKILL');
      const movedAll = await until(
        'tasks of the killed node to run elsewhere',
        () =>
          lost.every((t) =>
            starts.get(t)!.some((s) => s.at > killedAt && !s.agent.startsWith(`node${victimIndex}-`)),
          ),
        60_000,
      ).then(
        () => true,
        (e: unknown) => {
          console.error(`coordinator bench: ${String(e)}`);
          return false;
        },
      );
      const failoverMs = movedAll
        ? Math.max(...lost.map((t) => starts.get(t)!.find((s) => s.at > killedAt)!.at)) - killedAt
        : null;

      const row = (
        metric: string,
        unit: string,
        better: 'higher' | 'lower',
        value: number | null,
        workload = 'noop-3-nodes',
      ): Row => ({
        workload,
        metric,
        unit,
        better,
        values: { meshwork: value },
      });
      return [
        row('tasks_per_s', 'tasks/s', 'higher', heavy.perSecond),
        row('cpu_ms_per_task', 'ms', 'lower', heavy.cpuMsPerTask),
        row('submit_to_start_p50_ms', 'ms', 'lower', percentile(loaded.latencies, 50)),
        row('submit_to_start_p99_ms', 'ms', 'lower', percentile(loaded.latencies, 99)),
        row('failover_ms', 'ms', 'lower', failoverMs),
        row('duplicate_starts', 'starts', 'lower', loaded.duplicates),
        row('tasks_per_s', 'tasks/s', 'higher', saturated.perSecond, 'noop-3-nodes-saturated'),
        row('cpu_ms_per_task', 'ms', 'lower', saturated.cpuMsPerTask, 'noop-3-nodes-saturated'),
        row(
          'submit_to_start_p50_ms',
          'ms',
          'lower',
          percentile(overloaded.latencies, 50),
          'noop-3-nodes-saturated',
        ),
        row('duplicate_starts', 'starts', 'lower', overloaded.duplicates, 'noop-3-nodes-saturated'),
        row('submit_to_start_p50_ms', 'ms', 'lower', percentile(light.latencies, 50), 'noop-3-nodes-light'),
        row('submit_to_start_p99_ms', 'ms', 'lower', percentile(light.latencies, 99), 'noop-3-nodes-light'),
        row('duplicate_starts', 'starts', 'lower', light.duplicates, 'noop-3-nodes-light'),
      ];
    } finally {
      for (const n of nodes)
        if (n.child.exitCode === null && n.child.signalCode === null) n.send({ cmd: 'exit' });
      await new Promise((r) => setTimeout(r, 500));
      for (const n of nodes) n.child.kill('SIGKILL');
    }
  },
};
