import type { Value } from '@meshwork/core';
import {
  createCoordinator,
  type Coordinator,
  type TaskContext,
  type WorkflowTemplate,
} from '@meshwork/coordinator';
import { createSimNetwork, healthy, type Faults, type MessageCounts } from './network.ts';
import { createRng, type Rng } from './prng.ts';
import type { Backend } from './replica.ts';
import { createScheduler } from './scheduler.ts';
import { buildLinks, regions, type TopologyKind } from './topology.ts';

export type FaultMode = 'fault-free' | 'lossy' | 'partition' | 'crash' | 'stall' | 'lag';
/** The classes a seed picks from (seed mod 4); `stall` and `lag` run when asked for (`SimOptions.mode`). */
export const modes: readonly FaultMode[] = ['fault-free', 'lossy', 'partition', 'crash'];
export const allModes: readonly FaultMode[] = [...modes, 'stall', 'lag'];

export interface SimOptions {
  readonly backend?: Backend;
  /** Nodes in the mesh; by default 3–5 drawn from the seed, in a full mesh. */
  readonly nodes?: number;
  /** How the nodes are linked when `nodes` is given (default `random`). */
  readonly topology?: TopologyKind;
  /** Told the virtual time as the run goes on: a run of hundreds of nodes takes minutes. */
  readonly progress?: (virtualMs: number) => void;
  /** The fault class to run instead of the seed's. */
  readonly mode?: FaultMode;
}

export interface SimResult {
  readonly seed: number;
  readonly mode: FaultMode;
  readonly nodes: number;
  readonly topology: TopologyKind;
  readonly violations: string[];
  readonly tasks: number;
  readonly starts: number;
  readonly duplicateStarts: number;
  /** Most parts the network was split into at once. */
  readonly maxParts: number;
  readonly virtualMs: number;
  readonly events: number;
  /** Tasks removed by retention (workflow tasks included). */
  readonly removed: number;
  /** Removals of a task another replica had already removed. */
  readonly duplicateRemovals: number;
  /**
   * The longest a join took to be seen: virtual ms from the start, a restart or a heal until
   * every up node saw every agent of every up node alive; null if one never was.
   */
  readonly membershipMs: number | null;
  /** Messages each node sent per virtual second, by kind, until every task finished and replicas converged. */
  readonly messagesPerNodePerSecond: MessageCounts;
  /** Messages per virtual second, all kinds, of the node that sent the most (the hub of a star). */
  readonly busiestNodePerSecond: number;
}

/**
 * Every node sees every agent of every up node alive (`agents()`) within this long after the
 * last node joined (the start, a restart, the end of a partition), unless a crash or partition
 * comes first: heartbeats cross the mesh in a few hops of at most 30 ms each, and the agents'
 * records come with the first deltas or anti-entropy round.
 */
export const membershipBoundMs = 2000;

/**
 * Retention in the simulation: finished tasks go after this long, so the run ends with empty
 * stores. Runs of a given size keep them for less: at hundreds of nodes each virtual second
 * costs seconds, and the wait for removal would be most of the run.
 */
const finishedMsByDefault = 60_000;
const finishedMsSized = 10_000;

/**
 * From this many nodes on, each node runs one agent instead of 1–2: every replica holds every
 * agent's record (full replication), so the shared state grows with nodes × agents, and at
 * 1,000 nodes the 1,500 agents of 1–2 per node do not fit in the heap.
 */
const oneAgentFrom = 500;

interface StartLog {
  task: string;
  epoch: number;
  agent: string;
  node: string;
  at: number;
  end: { at: number; failed: boolean } | null;
}

const capabilities = ['cpu', 'gpu', 'io'] as const;

const workflow: WorkflowTemplate = {
  name: 'sim-pipeline',
  params: ['items'],
  steps: [
    { id: 'fetch', type: 'cpu', input: { n: 'params.items' } },
    { id: 'each', type: 'io', forEach: 'params.items', input: { item: 'item * 2' } },
    { id: 'left', type: 'cpu', after: ['each'], input: { from: 'steps.fetch.result.task' } },
    { id: 'right', type: 'gpu', after: ['each'], when: 'params.items.length > 100' },
    { id: 'loop', type: 'cpu', after: ['left'], repeatWhile: 'iteration < 2', maxIterations: 5 },
  ],
};

/** Runs one seeded scenario and checks the invariants. A pure function of `seed`. */
export async function runSimulation(seed: number, options: SimOptions = {}): Promise<SimResult> {
  const backend = options.backend ?? 'document';
  const rng = createRng(seed);
  const mode = options.mode ?? modes[seed % modes.length]!;
  const sched = createScheduler();
  const topology = options.nodes === undefined ? 'full' : (options.topology ?? 'random');
  const finishedMs = options.nodes === undefined ? finishedMsByDefault : finishedMsSized;
  // A full mesh is the network without links: every node one hop from every other.
  const links =
    options.nodes === undefined || topology === 'full'
      ? undefined
      : buildLinks(topology, options.nodes, rng.fork('topology'));
  const net = createSimNetwork({
    rng: rng.fork('net'),
    now: () => sched.now(),
    after: (ms, fn) => void sched.at(sched.now() + ms, fn),
    nodeClock: (skew) => sched.nodeClock(skew),
    antiEntropyMs: 300,
    backend,
    // Every third seed keeps a short event log, so anti-entropy often sends whole snapshots.
    ...(seed % 3 === 1 ? { logEvents: 64 } : {}),
    ...(links === undefined ? {} : { links }),
  });
  // Drawn even when `nodes` is given, so the rest of the run draws as it would by default.
  const drawn = rng.int(3, 5);
  const nodeIds = Array.from({ length: options.nodes ?? drawn }, (_, i) => `n${i}`);
  const agentPlan = new Map<string, { id: string; caps: string[]; capacity: number }[]>();
  for (const [i, id] of nodeIds.entries()) {
    net.addNode(id, rng.int(-5, 5));
    const agents = Array.from({ length: nodeIds.length >= oneAgentFrom ? 1 : rng.int(1, 2) }, (_, j) => ({
      id: `${id}-a${j}`,
      // Every node's first agent covers everything, so each task has an eligible agent after any crash or partition heals.
      caps: j === 0 && i < 2 ? [...capabilities] : capabilities.filter(() => rng.chance(0.6)).concat('cpu'),
      capacity: rng.int(1, 3),
    }));
    agentPlan.set(id, agents);
  }
  const starts: StartLog[] = [];
  const coords = new Map<string, Coordinator>();
  const removed = new Set<string>();
  const removedRuns = new Set<string>();
  let duplicateRemovals = 0;

  const boot = (id: string): void => {
    const node = net.node(id);
    const coord = createCoordinator({
      ...(node.state.document === null ? { store: node.state.store } : { document: node.state.document }),
      presence: node.presence,
      clock: node.clock,
      settle: { minMs: 10, initialMs: 50 },
      lease: { durationMs: 2000, graceMs: 200 },
      heartbeatMs: 200,
      retention: { finishedMs },
    });
    coord.events.on('removed', (r) => {
      for (const t of r.tasks) {
        if (removed.has(t)) duplicateRemovals++;
        removed.add(t);
      }
      if (r.run !== null) removedRuns.add(r.run);
    });
    for (const a of agentPlan.get(id)!) {
      coord.registerAgent({
        id: a.id,
        capabilities: a.caps,
        capacity: a.capacity,
        handler: (task, ctx: TaskContext) => {
          const log: StartLog = {
            task: task.id,
            epoch: ctx.epoch,
            agent: a.id,
            node: id,
            at: sched.now(),
            end: null,
          };
          starts.push(log);
          if (process.env['SIM_TRACE'] === task.id) {
            const recs = (['claim', 'lease', 'start', 'end', 'expiry'] as const).flatMap((kind) =>
              [...node.state.store.entries(kind)]
                .filter(([key]) => key.startsWith(`${task.id}|`))
                .map(([key]) => `${kind}:${key}`),
            );
            console.log(`t=${sched.now()} start ${a.id} epoch ${ctx.epoch}`, recs.join(' '));
          }
          const r = createRng(seed ^ hashText(`${task.id}/${ctx.epoch}`));
          // Under a lag a quarter of the tasks outlast a lease, so the lagging node judges renewals.
          const duration = mode === 'lag' && r.chance(0.25) ? r.int(2500, 6000) : r.int(20, 400);
          const fails = r.chance(0.12);
          return new Promise<Value>((resolve, reject) => {
            const cancel = node.clock.setTimer(() => {
              log.end = { at: sched.now(), failed: fails };
              if (fails) reject(new Error('simulated failure'));
              else resolve({ task: task.id, agent: a.id, epoch: ctx.epoch });
            }, duration);
            ctx.signal.addEventListener('abort', () => {
              cancel();
              // A fenced attempt did not fail: the mesh took its epoch away while it ran, and
              // the start that follows runs the task again.
              const fenced =
                ctx.signal.reason instanceof Error && ctx.signal.reason.message === 'attempt fenced';
              log.end = { at: sched.now(), failed: !fenced };
              reject(ctx.signal.reason as Error);
            });
          });
        },
      });
    }
    coords.set(id, coord);
  };
  for (const id of nodeIds) boot(id);

  const upNode = (r: Rng): string => r.pick(nodeIds.filter((id) => net.node(id).up));
  const taskIds: string[] = [];
  const taskRng = rng.fork('tasks');
  const taskCount = taskRng.int(20, 40);
  for (let i = 0; i < taskCount; i++) {
    const at = taskRng.int(0, 4000);
    const needs = [taskRng.pick(capabilities)];
    const dependsOn = taskIds.length > 0 && taskRng.chance(0.2) ? [taskRng.pick(taskIds)] : [];
    const priority = taskRng.int(0, 3);
    const cancelAt = taskRng.chance(0.05) ? at + taskRng.int(0, 1000) : null;
    const id = `task-${i}`;
    taskIds.push(id);
    sched.at(at, () => {
      coords.get(upNode(taskRng))!.submit({
        id,
        type: needs[0]!,
        needs,
        dependsOn,
        priority,
        input: { i },
        retry: { maxAttempts: 5, backoff: { initialMs: 100, factor: 2, maxMs: 1000, jitter: 0.2 } },
      });
    });
    if (cancelAt !== null) {
      sched.at(cancelAt, () => {
        const c = coords.get(upNode(taskRng))!;
        if (c.get(id) !== null) c.cancel(id, 'simulated cancel');
      });
    }
  }
  let run: string | null = null;
  if (rng.chance(0.5)) {
    sched.at(500, () => {
      run = coords.get(upNode(rng))!.workflows.start(workflow, { items: [1, 2, 3] });
    });
  }

  /** When the last node joined, while every node has yet to see it; null once seen, or after a fault. */
  let joinedAt: number | null = 0;
  const joinMs: number[] = [];
  /** A fault ends the wait for a join to be seen; one that had waited past the bound already counts. */
  const faultBeforeSeen = (): void => {
    if (joinedAt !== null && sched.now() - joinedAt > membershipBoundMs) joinMs.push(sched.now() - joinedAt);
    joinedAt = null;
  };
  let maxParts = 1;
  /** When the last fault ends (the membership bound is timed from there), if after 8 s. */
  let faultsEndAt = 0;
  /** The node that stalled, from when to when (mode `stall`). */
  let stall: Stall | null = null;
  const faultRng = rng.fork('faults');
  if (mode === 'lossy') {
    const f: Faults = {
      lossRate: faultRng.next() * 0.2,
      duplicateRate: 0.05,
      minLatencyMs: 1,
      maxLatencyMs: 30,
    };
    net.setFaults(f);
    sched.at(6000, () => net.setFaults(healthy));
  } else if (mode === 'partition') {
    const parts = Math.min(nodeIds.length, faultRng.int(2, 3));
    maxParts = parts;
    let groups: string[][] = Array.from({ length: parts }, () => []);
    if (links === undefined)
      nodeIds.forEach((id, i) => groups[i < parts ? i : faultRng.int(0, parts - 1)]!.push(id));
    else groups = regions(links, parts, faultRng).map((g) => g.map((i) => nodeIds[i]!));
    const from = faultRng.int(1000, 2000);
    sched.at(from, () => {
      net.partition(groups);
      faultBeforeSeen();
    });
    sched.at(from + faultRng.int(1000, 4000), () => {
      net.heal();
      joinedAt = sched.now();
    });
  } else if (mode === 'crash') {
    for (let c = 0; c < faultRng.int(1, 2); c++) {
      const id = faultRng.pick(nodeIds);
      const at = faultRng.int(1000, 3000);
      const back = at + faultRng.int(1000, 4000);
      sched.at(at, () => {
        if (process.env['SIM_TRACE'] !== undefined) console.log(`t=${sched.now()} crash ${id}`);
        net.crash(id);
        faultBeforeSeen();
        // In a sparse mesh a crash can cut the others apart: each part may start a task once.
        maxParts = Math.max(maxParts, net.parts());
      });
      sched.at(back, () => {
        if (!net.node(id).up) {
          net.restart(id);
          joinedAt = sched.now();
          boot(id);
        }
      });
    }
  } else if (mode === 'stall') {
    const node = faultRng.pick(nodeIds);
    const from = faultRng.int(1000, 3000);
    const ms = faultRng.int(1000, 8000);
    // Past a few seconds its neighbours close its links, and it may wake cut off from the mesh for
    // longer than it stalled (its redials refused or slow, the mesh busy): up to three times as
    // long, short of the longest hold (10 leases), past which it is one side of a partition.
    const cutMs = ms >= 3000 && faultRng.chance(0.5) ? faultRng.int(500, Math.min(3 * ms, 15_000)) : null;
    stall = { node, from, to: from + ms };
    faultsEndAt = from + ms + (cutMs ?? 0);

    sched.at(from, () => {
      // A stalled node that joins parts of a sparse mesh splits it while its links are silent.
      maxParts = Math.max(maxParts, net.parts(node));
      net.stall(node, ms);
      if (cutMs !== null) net.partition([[node], nodeIds.filter((id) => id !== node)]);
      faultBeforeSeen();
    });
    sched.at(faultsEndAt, () => {
      if (cutMs !== null) net.heal();
      joinedAt = sched.now();
    });
  } else if (mode === 'lag') {
    // Records reach one node seconds late for a while (a reader behind on a backlog); its links,
    // heartbeats and timers stay on time, so no node is gone: the mesh is healthy.
    const node = faultRng.pick(nodeIds);
    const from = faultRng.int(1000, 3000);
    const ms = faultRng.int(2000, 8000);
    const forMs = faultRng.int(1000, 6000);
    sched.at(from, () => net.lag(node, ms, forMs));
  }

  /** Whether every up node sees every agent of every up node alive. */
  const fullMembership = (): boolean => {
    const live = nodeIds.filter((id) => net.node(id).up).flatMap((id) => agentPlan.get(id)!.map((a) => a.id));
    for (const id of nodeIds) {
      if (!net.node(id).up) continue;
      const alive = new Set(
        coords
          .get(id)!
          .agents()
          .filter((a) => a.alive)
          .map((a) => a.id),
      );
      if (live.some((a) => !alive.has(a))) return false;
    }
    return true;
  };
  const seeJoin = (): void => {
    if (joinedAt !== null && fullMembership()) {
      joinMs.push(sched.now() - joinedAt);
      joinedAt = null;
    }
  };
  // Run in short steps to time membership: reading state between events changes nothing.
  const watchUntil = Math.max(8000, faultsEndAt + membershipBoundMs);
  while (sched.now() < watchUntil) {
    await sched.run(Math.min(watchUntil, sched.now() + 25));
    options.progress?.(sched.now());
    seeJoin();
  }
  const settled = (): boolean => {
    for (const id of nodeIds) {
      const c = coords.get(id)!;
      // Retention only removes finished tasks; short retention (sized runs) can remove some
      // while others still run.
      for (const t of taskIds) {
        const v = c.get(t);
        if (v === null ? !removed.has(t) : !['succeeded', 'failed', 'cancelled'].includes(v.status))
          return false;
      }
      const status = run === null ? undefined : coords.get(id)!.workflows.get(run)?.status;
      if (
        run !== null &&
        status !== 'succeeded' &&
        status !== 'failed' &&
        !(status === undefined && removedRuns.has(run))
      )
        return false;
    }
    const digests = new Set(net.nodes().map((n) => n.state.fingerprint()));
    return digests.size === 1;
  };
  while (sched.now() < 120_000 && !settled()) {
    await sched.run(sched.now() + 500);
    options.progress?.(sched.now());
    seeJoin();
  }
  const membershipMs = joinedAt === null ? Math.max(0, ...joinMs) : null;
  const perNodeSecond = 1000 / nodeIds.length / sched.now();
  const messages = net.stats.messages;
  const messagesPerNodePerSecond: MessageCounts = {
    delta: messages.delta * perNodeSecond,
    antiEntropy: messages.antiEntropy * perNodeSecond,
    membership: messages.membership * perNodeSecond,
  };
  const busiestNodePerSecond = (Math.max(...net.stats.sentBy) * 1000) / sched.now();

  const violations = check({
    coords,
    nodeIds,
    taskIds,
    starts,
    mode,
    maxParts,
    stall,
    settled: settled(),
    run,
    removed,
    runRemoved: run !== null && removedRuns.has(run),
  });
  if (membershipMs === null || membershipMs > membershipBoundMs)
    violations.push(
      `membership: every node saw every live agent alive ${membershipMs === null ? 'never after the last join' : `only ${membershipMs} ms after a join`} (bound ${membershipBoundMs} ms)`,
    );
  if (!fullMembership())
    violations.push('membership: at the end, some node does not see some live agent alive');

  // Retention: once everything is finished and synced, every finished task (and the workflow run)
  // goes from every replica, nothing runs again, and the replicas still agree.
  const startsBefore = starts.length;
  const leftover = (): number =>
    net
      .nodes()
      .reduce(
        (n, node) =>
          n +
          (['task', 'claim', 'start', 'end', 'workflow'] as const).reduce(
            (m, kind) => m + [...node.state.store.entries(kind)].length,
            0,
          ),
        0,
      );
  const deadline = sched.now() + 2.5 * finishedMs;
  while (
    sched.now() < deadline &&
    (leftover() > 0 || new Set(net.nodes().map((n) => n.state.fingerprint())).size > 1)
  )
    await sched.run(sched.now() + 1000);
  options.progress?.(sched.now());
  if (violations.length === 0) {
    const left = leftover();
    if (left > 0)
      violations.push(`retention: ${left} records of finished tasks left after ${2.5 * finishedMs} ms`);
    if (starts.length > startsBefore)
      violations.push(`retention: ${starts.length - startsBefore} starts after every task finished`);
    if (new Set(net.nodes().map((n) => n.state.fingerprint())).size > 1)
      violations.push('retention: replicas diverged');
  }
  return {
    seed,
    mode,
    nodes: nodeIds.length,
    topology,
    violations,
    tasks: taskIds.length,
    starts: starts.length,
    duplicateStarts: countDuplicates(starts),
    maxParts,
    virtualMs: sched.now(),
    events: sched.executed,
    removed: removed.size,
    duplicateRemovals,
    membershipMs,
    messagesPerNodePerSecond,
    busiestNodePerSecond,
  };
}

/** JSON with object keys sorted: replicas may hold equal values with keys in another order. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x !== null && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1)))
      : x,
  );
}

function hashText(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** A node that stalled: it ran nothing from `from` to `to` (virtual ms). */
interface Stall {
  readonly node: string;
  readonly from: number;
  readonly to: number;
}

/**
 * Duplicate starts: each start with the earlier starts of the same task it duplicates (those that
 * had begun and had not ended in failure by then).
 */
function duplicates(starts: readonly StartLog[]): { start: StartLog; earlier: StartLog[] }[] {
  const byTask = new Map<string, StartLog[]>();
  for (const s of starts) byTask.set(s.task, [...(byTask.get(s.task) ?? []), s]);
  const out: { start: StartLog; earlier: StartLog[] }[] = [];
  for (const list of byTask.values()) {
    for (const s of list) {
      const earlier = list.filter(
        (o) =>
          o !== s &&
          o.at <= s.at &&
          (o.at < s.at || o.agent < s.agent) &&
          !(o.end !== null && o.end.failed && o.end.at <= s.at),
      );
      if (earlier.length > 0) out.push({ start: s, earlier });
    }
  }
  return out;
}

export const countDuplicates = (starts: readonly StartLog[]): number => duplicates(starts).length;

function check(x: {
  coords: Map<string, Coordinator>;
  nodeIds: string[];
  taskIds: string[];
  starts: StartLog[];
  mode: FaultMode;
  maxParts: number;
  stall: Stall | null;
  settled: boolean;
  run: string | null;
  /** Tasks retention removed: replicas that no longer hold one have nothing to compare. */
  removed: ReadonlySet<string>;
  runRemoved: boolean;
}): string[] {
  const v: string[] = [];
  if (!x.settled) v.push('did not settle: some task not terminal on some replica, or replicas diverged');
  for (const t of x.taskIds) {
    const all = x.nodeIds.map((id) => x.coords.get(id)!.get(t));
    const views = x.removed.has(t) ? all.filter((tv) => tv !== null) : all;
    if (views.length === 0) continue;
    const first = views[0];
    if (first === null || first === undefined) {
      v.push(`${t}: lost (unknown on n0)`);
      continue;
    }
    const sig = (tv: typeof first | null): string =>
      canonical([tv?.status, tv?.agent, tv?.epoch, tv?.result]);
    if (views.some((tv) => sig(tv) !== sig(first)))
      v.push(`${t}: replicas disagree on the accepted result: ${views.map(sig).join(' / ')}`);
    if (first.status === 'succeeded') {
      const r = first.result as { epoch?: number; agent?: string } | null;
      if (!x.starts.some((s) => s.task === t && s.epoch === r?.epoch && s.agent === r?.agent))
        v.push(`${t}: accepted result has no matching start`);
    }
  }
  const perEpoch = new Map<string, Set<string>>();
  for (const s of x.starts) {
    const k = `${s.task}|${s.epoch}`;
    perEpoch.set(k, (perEpoch.get(k) ?? new Set()).add(s.agent));
  }
  if (x.mode !== 'lossy') {
    for (const [k, agents] of perEpoch) {
      if (agents.size > x.maxParts)
        v.push(`${k}: ${agents.size} attempts in one epoch under a ${x.maxParts}-way split`);
    }
  }
  if (x.mode === 'fault-free' || x.mode === 'lag') {
    const d = countDuplicates(x.starts);
    if (d > 0)
      v.push(`${d} duplicate starts in a ${x.mode === 'lag' ? 'lagging but connected' : 'fault-free'} run`);
  }
  // The mesh may take a stalled node for gone and run again what it had started; nothing else,
  // unless the stall split the mesh (its parts are then bound as a partition's, above).
  if (x.stall !== null && x.maxParts === 1) {
    const { node, from } = x.stall;
    for (const { start, earlier } of duplicates(x.starts)) {
      const other = earlier.find((o) => o.node !== node || o.at >= from);
      if (other !== undefined)
        v.push(
          `${start.task}: started by ${start.node} at ${Math.round(start.at)} ms while ${other.node} ran it since ${Math.round(other.at)} ms (${node} stalled ${from}–${x.stall.to} ms)`,
        );
    }
  }
  if (x.run !== null) {
    const statuses = new Set(x.nodeIds.map((id) => x.coords.get(id)!.workflows.get(x.run!)?.status));
    if (x.runRemoved) statuses.delete(undefined);
    // Removed from every replica by retention (a long run): nothing left to disagree on.
    if (statuses.size > 1 || (statuses.size === 0 && !x.runRemoved))
      v.push(`workflow: replicas disagree: ${[...statuses].join(',')}`);
  }
  return v;
}
