import type { PresenceChannel } from '@meshwork/core';
import { createSimNetwork, healthy, type SimNode } from '../../../test/sim/network.ts';
import { createRng } from '../../../test/sim/prng.ts';
import { createScheduler } from '../../../test/sim/scheduler.ts';
import type {
  AgentInfo,
  Claim,
  Coordinator,
  CoordinatorOptions,
  TaskRecords,
  TaskSpec,
} from '../src/index.ts';
import { createCoordinator, defaultRetry } from '../src/index.ts';

export function spec(overrides: Partial<TaskSpec> = {}): TaskSpec {
  return {
    id: 't1',
    type: 'work',
    needs: ['work'],
    input: null,
    priority: 0,
    dependsOn: [],
    resources: {},
    retry: defaultRetry,
    timeouts: { scheduleToStartMs: null, runMs: null },
    idempotencyKey: 't1',
    submittedAt: 0,
    submittedBy: 'n0',
    workflow: null,
    ...overrides,
  };
}

export function agent(overrides: Partial<AgentInfo> = {}): AgentInfo {
  return {
    id: 'a1',
    node: 'n1',
    capabilities: ['work'],
    capacity: 2,
    metadata: {},
    registeredAt: 0,
    retired: false,
    ...overrides,
  };
}

export function claim(overrides: Partial<Claim> = {}): Claim {
  return { task: 't1', epoch: 1, agent: 'a1', node: 'n1', at: 100, score: 0.5, settleMs: 50, ...overrides };
}

export function records(overrides: Partial<TaskRecords> = {}): TaskRecords {
  return {
    spec: spec(),
    claims: [],
    leases: [],
    starts: [],
    ends: [],
    expiries: [],
    cancel: null,
    startTimeout: null,
    progress: null,
    ...overrides,
  };
}

/** The timings of the coordinators of a virtual mesh: leases of 2 s, heartbeats every 200 ms. */
const meshTimings = { lease: { durationMs: 2000, graceMs: 200 }, heartbeatMs: 200 } as const;

/** A coordinator on a simulated node (one just restarted, say), with a virtual mesh's timings. */
export function coordinatorOn(node: SimNode, options: Partial<CoordinatorOptions> = {}): Coordinator {
  return createCoordinator({
    document: node.state.document!,
    presence: node.presence,
    clock: node.clock,
    ...meshTimings,
    ...options,
  });
}

/**
 * `nodes` coordinators over the simulated network on virtual time (healthy links, leases of 2 s,
 * heartbeats every 200 ms). With `timerLagMs`, every timer of the coordinators fires that much
 * late, as on a busy event loop.
 */
export function virtualMesh(options: {
  readonly nodes: number;
  readonly backend: 'memory' | 'document';
  readonly seed: number;
  readonly coordinator?: Partial<CoordinatorOptions>;
  readonly timerLagMs?: number;
  /** What node `i` is told of the mesh: its membership, or a view of it the test shapes. */
  readonly presence?: (i: number, presence: PresenceChannel) => PresenceChannel;
}) {
  const lag = options.timerLagMs ?? 0;
  const sched = createScheduler();
  const net = createSimNetwork({
    rng: createRng(options.seed),
    now: () => sched.now(),
    after: (ms, fn) => void sched.at(sched.now() + ms, fn),
    nodeClock: (skew) => sched.nodeClock(skew),
    antiEntropyMs: 300,
    backend: options.backend,
  });
  net.setFaults(healthy);
  const coords: Coordinator[] = [];
  for (let i = 0; i < options.nodes; i++) {
    const node = net.addNode(`n${i}`);
    coords.push(
      createCoordinator({
        ...(node.state.document === null ? { store: node.state.store } : { document: node.state.document }),
        presence: options.presence?.(i, node.presence) ?? node.presence,
        clock:
          lag === 0
            ? node.clock
            : { now: () => node.clock.now(), setTimer: (fn, ms) => node.clock.setTimer(fn, ms + lag) },
        ...meshTimings,
        ...options.coordinator,
      }),
    );
  }
  return { sched, net, coords, run: (ms: number) => sched.run(sched.now() + ms) };
}

/** A start of an attempt, as an agent's handler saw it. */
export interface Start {
  readonly task: string;
  readonly epoch: number;
  readonly node: string;
  readonly at: number;
}

/**
 * Registers agent `a<i>` (capability `work`, capacity 2) on every node of `m`, recording each start;
 * an attempt runs `runMs(starts so far)` of the node's clock.
 */
export function recordStarts(m: ReturnType<typeof virtualMesh>, runMs: (started: number) => number): Start[] {
  const starts: Start[] = [];
  m.coords.forEach((c, i) => {
    const node = `n${i}`;
    const clock = m.net.node(node).clock;
    c.registerAgent({
      id: `a${i}`,
      capabilities: ['work'],
      capacity: 2,
      handler: (task, ctx) => {
        starts.push({ task: task.id, epoch: ctx.epoch, node, at: m.sched.now() });
        const ms = runMs(starts.length);
        return new Promise((resolve) => clock.setTimer(() => resolve('done'), ms));
      },
    });
  });
  return starts;
}
