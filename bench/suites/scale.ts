/**
 * `pnpm bench scale`: 50 `meshwork start` daemons, each its own process on loopback with one
 * no-op agent (a module handler), in a sparse topology: every daemon bootstraps to one or two
 * random earlier ones. Everything is measured through public surfaces (the HTTP API, `/metrics`,
 * `/proc`), so the suite measures any membership and failure detection the daemons run:
 *
 * - full membership: after the last daemon is ready, until every daemon shows all agents live;
 * - idle cost per daemon over an idle window, once no daemon's links changed for 15 s (at most
 *   SCALE_BENCH_SETTLE_MAX_S, 180 s, after full membership): CPU, resident memory (RSS, and PSS,
 *   which counts pages shared between the daemons, the Node binary's above all, in proportion),
 *   bytes sent on Meshwork's protocols (`meshwork_transport_bytes_total`, so without TCP, Noise
 *   and yamux framing);
 * - 5,000 no-op tasks submitted round-robin across the daemons: throughput (first submission to
 *   the last task seen finished on one daemon), duplicate starts (attempts beyond the first, from
 *   every task's history on one daemon; no fault is injected meanwhile, so every one counts)
 *   and lost tasks (acknowledged, but not succeeded there at the end: failed, or still open when
 *   the run gave up after 45 minutes or 2 without a task finishing);
 * - failover, a few times: SIGKILL the daemon running a task that runs until released, and time
 *   from the kill until another agent's attempt starts (its `startedAt`, as a surviving daemon
 *   reports it); the killed daemon is restarted before the next round;
 * - heal: a third of the daemons is cut off for 60 s, and the time from the reconnect until every
 *   daemon shows every agent live and the same tasks in the same states.
 *
 * The partition is made with the daemons' own admission control, since loopback offers no
 * firewall without root: each daemon is given an allow-list of its own side's peer ids by a config
 * reload, closes its links across the cut and neither dials across it nor accepts a connection
 * from across it while both sides run and take tasks. Both sides get one, as in a real partition
 * a dial across fails before any handshake; with the third's alone, the majority's redials each
 * cost both ends a Noise handshake before the refusal (bench/RESULTS.md, _A partition that costs
 * handshakes_). The heal is a reload of every daemon without the allow-list, timed from the
 * moment the reloads are sent: reconnecting, exchanging what each side missed and agreeing on
 * membership are in the figure.
 *
 * SCALE_BENCH_DAEMONS (default 50) and SCALE_BENCH_TASKS (5000, at most 9000) size the run;
 * SCALE_BENCH_IDLE_S (60), SCALE_BENCH_PARTITION_S (60), SCALE_BENCH_FAILOVERS (3),
 * SCALE_BENCH_CAPACITY (8 tasks at once per agent) and SCALE_BENCH_SEED (1, the topology) tune
 * it; MESHWORK_SCALE_KEEP=1 keeps the daemons' data and logs; SCALE_BENCH_PROFILE_HEAL=<file>
 * writes a CPU profile of one daemon over the heal (cpu-profile.ts).
 *
 * The daemons run as a user installs them: the packages are packed and installed with npm first
 * (installed-cli.ts), and run from their compiled JavaScript, with the workspace's patches to
 * dependencies (patches/) applied. SCALE_BENCH_BUILD picks another build: `installed-unpatched`
 * (what npm alone installs today: the dependencies as published) or `sources` (no packing; Node
 * strips the types, which costs each daemon memory).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { percentile, type Progress, type Row, type Suite } from '../report.ts';
import { startDaemonMesh, type DaemonMesh, type MeshDaemon } from '../scale/daemon-mesh.ts';
import { profileDuring } from '../scale/cpu-profile.ts';
import { installedCli } from '../scale/installed-cli.ts';
import {
  countIn,
  FINISHED,
  liveAgents,
  OPEN,
  peersOf,
  processStats,
  sentBytes,
  taskCounts,
  taskStatuses,
} from '../scale/observe.ts';
import {
  checkRuns,
  eachLimit,
  failoverRound,
  moduleTask,
  submitSpread,
  waitForAll,
  waitReady,
} from '../scale/workload.ts';
import { sleep } from '../../packages/node/test/support/processes.ts';

function setting(name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`${name}=${raw}: expected a whole number from ${min} to ${max}`);
  return n;
}

const DAEMONS = setting('SCALE_BENCH_DAEMONS', 50, 3);
const BUILDS = ['installed', 'installed-unpatched', 'sources'] as const;
const DAEMON_BUILD = ((): (typeof BUILDS)[number] => {
  const raw = process.env['SCALE_BENCH_BUILD'] ?? 'installed';
  const build = BUILDS.find((b) => b === raw);
  if (build === undefined) throw new Error(`SCALE_BENCH_BUILD=${raw}: expected one of ${BUILDS.join(', ')}`);
  return build;
})();
// At most 9,000, so that every task of the run fits one `GET /v1/tasks` (10,000) for comparing daemons.
const TASKS = setting('SCALE_BENCH_TASKS', 5_000, 1, 9_000);
const IDLE_S = setting('SCALE_BENCH_IDLE_S', 60, 1);
const SETTLE_LOOK_S = 15;
const SETTLE_MAX_S = setting('SCALE_BENCH_SETTLE_MAX_S', 180, 0);
const PARTITION_S = setting('SCALE_BENCH_PARTITION_S', 60, 1);
const FAILOVERS = setting('SCALE_BENCH_FAILOVERS', 3, 0);
const SEED = setting('SCALE_BENCH_SEED', 1, 0);
/** Tasks each daemon's agent runs at once. */
const CAPACITY = setting('SCALE_BENCH_CAPACITY', 8, 1);
/** Tasks submitted on each side of the partition while it lasts. */
const PARTITION_TASKS = Math.max(10, Math.round(TASKS / 50));
/** HTTP submissions in flight at once. */
const SUBMIT_CONCURRENCY = 32;
/** Longest wait for any one thing (readiness, membership, convergence): past it, the figure is null. */
const WAIT_MS = 300_000;
/** A file for a CPU profile of one daemon over the heal; none by default. */
const PROFILE_HEAL = process.env['SCALE_BENCH_PROFILE_HEAL'];
/** How long a failover round waits for its task to start, and then to start elsewhere. */
const FAILOVER_WAIT_MS = 120_000;
/** How long a failover round waits for the mesh to be full again after the restart, unmeasured. */
const SETTLE_MS = 60_000;
/** A task run is given up when no task has finished for this long, or when it has run this long. */
const STALL_MS = 120_000;
const TASK_RUN_MS = 45 * 60_000;

const mean = (xs: readonly number[]): number | null =>
  xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length;
const round = (n: number | null, digits: number): number | null =>
  n === null ? null : Number(n.toFixed(digits));

/** Reports a wait that ran out, with what each daemon that failed it said last. */
function reportFailing(
  what: string,
  timeoutMs: number,
  failing: readonly { daemon: MeshDaemon; detail: string }[],
): void {
  const shown = failing.slice(0, 10).map((f) => `${f.daemon.name}: ${f.detail}`);
  console.error(
    `scale bench: ${what} not reached within ${timeoutMs / 1000} s on ${failing.length} daemon(s): ${shown.join('; ')}`,
  );
}

/** Runs one part of the suite; if it throws, says so and gives `fallback`, so the others still run. */
async function part<T>(name: string, fallback: T, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    console.error(
      `scale bench: ${name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
    );
    return fallback;
  }
}

/** A probe for waitForAll: the daemon shows every one of `agents` live. */
function membershipProbe(agents: ReadonlySet<string>) {
  return async (d: MeshDaemon): Promise<true | string> => {
    const live = await liveAgents(d, agents);
    return live === agents.size || `${live}/${agents.size} agents live`;
  };
}

/**
 * Waits until `observer` holds no open task and at least `finished` finished ones, and says when
 * it did; null when it gave up (no task finished for STALL_MS, or `deadlineMs` passed).
 */
async function waitFinished(
  observer: MeshDaemon,
  finished: number,
  progress: Progress,
  label: string,
  deadlineMs: number,
): Promise<number | null> {
  const started = performance.now();
  let last = { done: -1, at: started };
  for (;;) {
    const counts = await taskCounts(observer).catch(() => undefined);
    const now = performance.now();
    if (counts !== undefined) {
      const done = countIn(counts, FINISHED);
      const open = countIn(counts, OPEN);
      progress.step(`${label}: ${done} finished, ${open} open on ${observer.name}`);
      if (done >= finished && open === 0) return now;
      if (done !== last.done) last = { done, at: now };
    }
    if (now - last.at > STALL_MS || now - started > deadlineMs) {
      const why = now - last.at > STALL_MS ? `no task finished for ${STALL_MS / 1000} s` : 'out of time';
      console.error(`scale bench: ${label}: ${why}; giving up with ${last.done} finished`);
      return null;
    }
    await sleep(200);
  }
}

/**
 * Waits until no daemon's links change over `SETTLE_LOOK_S` (at most `SETTLE_MAX_S`): a mesh just
 * formed still adds and prunes links (a link is kept at least the topology's 60 s grace), and
 * each change floods both ends' records; idle means a settled mesh. Returns how long it took.
 */
async function settle(daemons: readonly MeshDaemon[], progress: Progress): Promise<number> {
  const started = performance.now();
  const look = async (): Promise<string[]> =>
    Promise.all(daemons.map(async (d) => (await peersOf(d).catch(() => [])).sort().join(',')));
  let before = await look();
  while (performance.now() - started < SETTLE_MAX_S * 1000) {
    await sleep(SETTLE_LOOK_S * 1000);
    const now = await look();
    const changed = now.filter((links, i) => links !== before[i]).length;
    progress.step(`settle: ${changed} daemons' links changed in ${SETTLE_LOOK_S} s`);
    if (changed === 0) break;
    before = now;
  }
  return (performance.now() - started) / 1000;
}

async function idleWindow(daemons: readonly MeshDaemon[], progress: Progress) {
  // Reading `/metrics` costs a daemon tens of milliseconds of CPU: the window starts after the
  // first reading and ends before the second, so neither counts as idle cost.
  const bytesNow = async () => ({
    at: performance.now(),
    sent: await Promise.all(daemons.map((d) => sentBytes(d).catch(() => null))),
  });
  const statsNow = () => ({
    at: performance.now(),
    stats: daemons.map((d) => processStats(d.process.child.pid!)),
  });
  const bytes0 = await bytesNow();
  const before = statsNow();
  progress.step(`idle: ${IDLE_S} s with nothing to do`);
  await sleep(IDLE_S * 1000);
  const after = statsNow();
  const bytes1 = await bytesNow();
  const seconds = (after.at - before.at) / 1000;
  const bytesSeconds = (bytes1.at - bytes0.at) / 1000;
  const cpu: number[] = [];
  const rss: number[] = [];
  const pss: number[] = [];
  const bytes: number[] = [];
  daemons.forEach((_, i) => {
    const [s0, s1] = [before.stats[i], after.stats[i]];
    if (s0 && s1) {
      cpu.push(((s1.cpuMs - s0.cpuMs) / 1000 / seconds) * 100);
      rss.push(s1.rssBytes / 2 ** 20);
      pss.push(s1.pssBytes / 2 ** 20);
    }
    const [b0, b1] = [bytes0.sent[i], bytes1.sent[i]];
    if (b0 != null && b1 != null) bytes.push((b1 - b0) / bytesSeconds);
  });
  return { cpuPct: mean(cpu), rssMb: mean(rss), pssMb: mean(pss), bytesPerS: mean(bytes) };
}

/** What the task run measured; null where it could not. */
interface TaskRun {
  readonly perSecond: number | null;
  readonly duplicates: number | null;
  readonly lost: number | null;
}

async function taskRun(daemons: readonly MeshDaemon[], progress: Progress): Promise<TaskRun> {
  const observer = daemons[0]!;
  const bodies = Array.from({ length: TASKS }, (_, i) => moduleTask(`scale-${i}`, 'noop'));
  const started = performance.now();
  const givenUp = new Map<string, number>();
  const acked = await submitSpread(daemons, bodies, {
    concurrency: SUBMIT_CONCURRENCY,
    onSubmitted: (n) => progress.step(`tasks: ${n}/${TASKS} submitted`),
    onGiveUp: (_, failure) => givenUp.set(failure, (givenUp.get(failure) ?? 0) + 1),
  });
  if (acked.length < TASKS) {
    console.error(`scale bench: ${TASKS - acked.length} submissions never acknowledged; last failures:`);
    for (const [failure, n] of [...givenUp].sort((a, b) => b[1] - a[1]).slice(0, 10))
      console.error(`  ${n} × ${failure}`);
  }
  const doneAt = await waitFinished(observer, acked.length, progress, 'tasks', TASK_RUN_MS);
  progress.step(`tasks: checking every task's attempts on ${observer.name}`);
  const check = await checkRuns(observer, acked);
  for (const { id, attempts } of check.duplicated.slice(0, 20)) {
    const detail = attempts.map((a) => `${a.agent}@epoch${a.epoch} ${a.outcome}`).join(', ');
    console.error(`scale bench: ${id} started ${attempts.length} times: ${detail}`);
  }
  for (const { id, status } of check.lost.slice(0, 20))
    console.error(`scale bench: ${id} did not succeed: ${status ?? `unknown to ${observer.name}`}`);
  return {
    perSecond: doneAt === null ? null : acked.length / ((doneAt - started) / 1000),
    duplicates: check.duplicateStarts,
    lost: check.lost.length,
  };
}

async function failovers(mesh: DaemonMesh, agents: ReadonlySet<string>, progress: Progress) {
  const times: number[] = [];
  for (let round = 0; round < FAILOVERS; round++) {
    progress.step(`failover: round ${round + 1}/${FAILOVERS}: SIGKILL the holder of a running task`);
    const via = mesh.daemons[(round * 7 + 1) % mesh.daemons.length]!;
    const id = `failover-${round}`;
    try {
      const f = await failoverRound(mesh, { id, via, timeoutMs: FAILOVER_WAIT_MS });
      if (f.ms === null)
        console.error(`scale bench: ${id}: no other agent started it within ${FAILOVER_WAIT_MS / 1000} s`);
      else {
        times.push(f.ms);
        const next = f.task?.history.find((a) => a.agent !== f.killed.agent);
        console.error(
          `scale bench: ${id}: ${f.killed.name} killed, ${next?.agent ?? 'no agent'} started it ${f.ms} ms later`,
        );
      }
      progress.step(`failover: round ${round + 1}/${FAILOVERS}: restarting ${f.killed.name}`);
      await mesh.restart(f.killed);
      await waitReady([f.killed], WAIT_MS);
      // The next round starts from a full mesh, if the mesh gets there in a while.
      const full = await waitForAll(mesh.daemons, membershipProbe(agents), { timeoutMs: SETTLE_MS });
      if (full.ms === null) reportFailing('full membership after a restart', SETTLE_MS, full.failing);
    } catch (err) {
      console.error(`scale bench: ${id}: ${(err as Error).message}`);
    }
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), max: times.length === 0 ? null : times.at(-1)! };
}

/** Tasks by status over a set of task statuses. */
function countStatuses(statuses: ReadonlyMap<string, string>): Record<string, number> {
  const counts: Record<string, number> = Object.fromEntries([...OPEN, ...FINISHED].map((s) => [s, 0]));
  for (const s of statuses.values()) counts[s] = (counts[s] ?? 0) + 1;
  return counts;
}

async function partitionAndHeal(
  mesh: DaemonMesh,
  agents: ReadonlySet<string>,
  progress: Progress,
): Promise<number | null> {
  const third = Math.floor(mesh.daemons.length / 3);
  const minority = mesh.daemons.slice(mesh.daemons.length - third);
  const majority = mesh.daemons.slice(0, mesh.daemons.length - third);
  // Each side's observer must end up knowing every task finished before the cut and its side's
  // own: "none open" alone passes while a task's records are still on their way to it.
  const finishedBefore = Math.max(
    ...(await Promise.all(
      [majority[0]!, minority[0]!].map(async (d) => countIn(await taskCounts(d), FINISHED)),
    )),
  );
  const cutAt = performance.now();
  progress.step(`partition: cutting off ${third} daemons (each side an allow-list of its own, by reload)`);
  await Promise.all([
    ...minority.map((d) => mesh.admit(d, minority)),
    ...majority.map((d) => mesh.admit(d, majority)),
  ]);

  progress.step(`partition: ${PARTITION_TASKS} tasks on each side`);
  const sides = [
    { daemons: majority, prefix: 'part-majority' },
    { daemons: minority, prefix: 'part-minority' },
  ];
  await Promise.all(
    sides.map(async ({ daemons, prefix }) => {
      const bodies = Array.from({ length: PARTITION_TASKS }, (_, i) => moduleTask(`${prefix}-${i}`, 'noop'));
      await submitSpread(daemons, bodies, { concurrency: 8 });
      await waitFinished(
        daemons[0]!,
        finishedBefore + PARTITION_TASKS,
        progress,
        `partition: ${prefix}`,
        WAIT_MS,
      );
    }),
  );
  const left = PARTITION_S * 1000 - (performance.now() - cutAt);
  progress.step(`partition: holding it ${Math.max(0, Math.round(left / 1000))} s more`);
  if (left > 0) await sleep(left);

  // The cut held if no link crosses it and neither side learnt the other's tasks. A link counts
  // only when both ends list each other, in each of three looks a second apart: a connection
  // refused at its far end shows on the dialling side alone until the refusal closes it.
  const minorityIds = new Set(minority.map((d) => d.peerId));
  const crossingLinks = async (): Promise<Set<string>> => {
    const views = new Map<string, Set<string>>();
    await eachLimit(mesh.daemons, 8, async (d) => void views.set(d.peerId, new Set(await peersOf(d))));
    const links = new Set<string>();
    for (const d of minority)
      for (const p of views.get(d.peerId) ?? [])
        if (!minorityIds.has(p) && views.get(p)?.has(d.peerId) === true)
          links.add(`${d.name}-${p.slice(-6)}`);
    return links;
  };
  let lasting = await crossingLinks();
  for (let look = 1; look < 3 && lasting.size > 0; look++) {
    await sleep(1_000);
    const now = await crossingLinks();
    lasting = new Set([...lasting].filter((l) => now.has(l)));
  }
  const across = [...lasting];
  const [minorityTasks, majorityTasks] = await Promise.all([
    taskStatuses(minority[0]!),
    taskStatuses(majority[0]!),
  ]);
  const crossed =
    [...minorityTasks.keys()].some((id) => id.startsWith('part-majority')) ||
    [...majorityTasks.keys()].some((id) => id.startsWith('part-minority'));
  const leaked = across.length > 0 || crossed;
  if (leaked)
    console.error(
      `scale bench: the partition leaked: connected across it: ${across.join(', ') || 'none'}; tasks crossed: ${crossed}`,
    );

  // Where both sides should end up: every task either side holds, in the state it reached there.
  const union = new Map([...minorityTasks, ...majorityTasks]);
  const expected = countStatuses(union);
  progress.step('heal: lifting every daemon’s allow-list');
  const heal = async () => {
    const healAt = performance.now();
    await Promise.all(mesh.daemons.map((d) => mesh.admit(d)));
    const waitFrom = performance.now();
    const converged = await waitForAll(
      mesh.daemons,
      async (d) => {
        const live = await liveAgents(d, agents);
        if (live !== agents.size) return `${live}/${agents.size} agents live`;
        const counts = await taskCounts(d);
        const same = Object.keys(expected).every((k) => (counts[k] ?? 0) === expected[k]);
        return same || `tasks ${JSON.stringify(counts)}, expected ${JSON.stringify(expected)}`;
      },
      { timeoutMs: WAIT_MS, onProgress: (n) => progress.step(`heal: ${n}/${mesh.daemons.length} converged`) },
    );
    return { converged, startedMs: waitFrom - healAt };
  };
  // The first daemon of the majority, profiled over the heal (cpu-profile.ts).
  const { converged, startedMs } =
    PROFILE_HEAL === undefined
      ? await heal()
      : await profileDuring(majority[0]!.process.child.pid!, PROFILE_HEAL, heal);
  if (converged.ms === null) {
    reportFailing('convergence after the heal', WAIT_MS, converged.failing);
    return null;
  }
  // Same counts everywhere; now the same tasks, by id, in the same states (not timed).
  progress.step('heal: comparing every daemon’s tasks by id');
  const differing: string[] = [];
  await eachLimit(mesh.daemons, 4, async (d) => {
    const mine = await taskStatuses(d);
    const same = mine.size === union.size && [...union].every(([id, s]) => mine.get(id) === s);
    if (!same) differing.push(d.name);
  });
  if (differing.length > 0) {
    console.error(`scale bench: after the heal, tasks differ by id on ${differing.join(', ')}`);
    return null;
  }
  // A cut that leaked healed nothing: no figure.
  return leaked ? null : converged.ms + startedMs;
}

export const suite: Suite = {
  name: 'scale',
  systems: ['meshwork'],
  baseline: 'meshwork',
  async run(progress) {
    let cli: string | undefined;
    if (DAEMON_BUILD !== 'sources') {
      progress.step(`install: packing the packages and installing them with npm (${DAEMON_BUILD})`);
      cli = installedCli(mkdtempSync(join(tmpdir(), 'meshwork-scale-install-')), {
        withPatches: DAEMON_BUILD === 'installed',
      });
    }
    progress.step(`start: ${DAEMONS} daemons`);
    const mesh = await startDaemonMesh({
      size: DAEMONS,
      seed: SEED,
      capacity: CAPACITY,
      ...(cli !== undefined ? { cli } : {}),
      onStarted: (n) => progress.step(`start: ${n}/${DAEMONS} daemons serving`),
    });
    if (process.env['MESHWORK_SCALE_KEEP'] !== undefined)
      console.error(`scale bench: daemons' data and logs in ${mesh.dir}`);
    try {
      const { daemons } = mesh;
      const agents = new Set(daemons.map((d) => d.agent));
      const rows: Row[] = [];
      // Each figure is also printed as soon as it is known: a run of an hour on a shared machine
      // that is cut short still tells what it measured.
      const record = (
        metric: string,
        unit: string,
        better: 'higher' | 'lower',
        value: number | null,
      ): void => {
        console.error(`scale bench: ${metric} = ${value ?? 'null'} ${unit}`);
        rows.push({ workload: `scale-${DAEMONS}`, metric, unit, better, values: { meshwork: value } });
      };
      progress.step('ready: waiting for every daemon to be ready');
      await waitReady(daemons, WAIT_MS);
      progress.step('membership: every daemon is ready');
      const membership = await waitForAll(daemons, membershipProbe(agents), {
        timeoutMs: WAIT_MS,
        onProgress: (n) => progress.step(`membership: ${n}/${DAEMONS} daemons see all agents live`),
      });
      if (membership.ms === null) reportFailing('full membership', WAIT_MS, membership.failing);
      record(
        'time_to_full_membership_s',
        's',
        'lower',
        membership.ms === null ? null : round(membership.ms / 1000, 2),
      );

      const settled = await settle(daemons, progress);
      console.error(`scale bench: links settled ${round(settled, 0)} s after full membership`);
      const idle = await part('idle', { cpuPct: null, rssMb: null, pssMb: null, bytesPerS: null }, () =>
        idleWindow(daemons, progress),
      );
      record('idle_cpu_per_node_pct', '%', 'lower', round(idle.cpuPct, 2));
      record('idle_rss_per_node_mb', 'MB', 'lower', round(idle.rssMb, 1));
      record('idle_pss_per_node_mb', 'MB', 'lower', round(idle.pssMb, 1));
      record('idle_bytes_per_node_per_s', 'B/s', 'lower', round(idle.bytesPerS, 0));

      const tasks = await part<TaskRun>('tasks', { perSecond: null, duplicates: null, lost: null }, () =>
        taskRun(daemons, progress),
      );
      record('tasks_per_s', 'tasks/s', 'higher', round(tasks.perSecond, 1));
      record('duplicate_starts', 'starts', 'lower', tasks.duplicates);
      record('lost_tasks', 'tasks', 'lower', tasks.lost);

      const failover = await part('failover', { p50: null, max: null }, () =>
        failovers(mesh, agents, progress),
      );
      record('failover_p50_ms', 'ms', 'lower', failover.p50);
      record('failover_max_ms', 'ms', 'lower', failover.max);

      const healMs = await part('heal', null, () => partitionAndHeal(mesh, agents, progress));
      record('heal_after_reconnect_ms', 'ms', 'lower', healMs === null ? null : Math.round(healMs));
      return rows;
    } finally {
      progress.step('stopping the daemons');
      await mesh.close();
    }
  },
};
