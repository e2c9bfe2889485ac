import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createCandidateWindow, LEADER_NODES, leaders } from '../src/coordinator/candidate-window.ts';
import { decideClaims, hasRoom, type ClaimInputs, type Hold } from '../src/coordinator/claims.ts';
import type { AgentInfo, TaskSpec } from '../src/index.ts';
import { ineligibility, rendezvous, scoreAgent, type AgentStats } from '../src/internal.ts';
import { agent, spec } from './fixtures.ts';

const self = 'n0';
const names = ['x', 'y', 'z'] as const;
const likely = fc.constantFrom(true, true, true, false);

/** One scheduling pass as the claim function sees it, in plain data. */
const arbPass = fc.record({
  agents: fc.uniqueArray(
    fc.record({
      id: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'),
      node: fc.constantFrom(self, self, 'n1', 'n2', 'n3', 'n4', 'n5'),
      capabilities: fc.uniqueArray(fc.constantFrom(...names), { minLength: 1, maxLength: 3 }),
      capacity: fc.integer({ min: 1, max: 3 }),
      load: fc.integer({ min: 0, max: 3 }),
      /** Listed mesh-wide as alive and not retired. */
      listed: likely,
      /** Registered on this node (for agents of this node). */
      registered: likely,
      stats: fc.record({
        successes: fc.nat(20),
        failures: fc.nat(20),
        meanLatencyMs: fc.option(fc.integer({ min: 1, max: 5000 })),
      }),
      /** Flagged by agent health. */
      degraded: fc.constantFrom(false, false, false, true),
    }),
    { selector: (a) => a.id, minLength: 1, maxLength: 8 },
  ),
  tasks: fc.uniqueArray(
    fc.record({
      id: fc.constantFrom(...Array.from({ length: 12 }, (_, i) => `t${i}`)),
      needs: fc.uniqueArray(fc.constantFrom(...names), { maxLength: 2 }),
      gpu: fc.constantFrom(true, false, false, false),
      priority: fc.integer({ min: 0, max: 3 }),
      epoch: fc.integer({ min: 1, max: 3 }),
      /** A hold from an earlier pass: for this epoch (it has ended) or an older one. */
      held: fc.option(fc.boolean()),
    }),
    { selector: (t) => t.id, minLength: 1, maxLength: 12 },
  ),
  gpuFree: fc.boolean(),
  settleMs: fc.integer({ min: 10, max: 200 }),
  now: fc.integer({ min: 1000, max: 10_000 }),
});
type Pass = typeof arbPass extends fc.Arbitrary<infer P> ? P : never;
/** About a third of the generated passes claim something, a tenth hold a task back. */
const runs = { numRuns: 300 };

/** The inputs of `pass`; `reorder` lists agents and local agents the other way round. */
function inputs(pass: Pass, reorder = false): ClaimInputs {
  const infos = pass.agents.map((a) =>
    agent({ id: a.id, node: a.node, capabilities: [...a.capabilities].sort(), capacity: a.capacity }),
  );
  const order = <T>(xs: T[]): T[] => (reorder ? xs.reverse() : xs);
  const held = new Map<string, Hold>();
  for (const t of pass.tasks)
    if (t.held !== null) held.set(t.id, { epoch: t.held ? t.epoch : t.epoch - 1, until: pass.now - 1 });
  const stats = new Map<string, AgentStats>(
    pass.agents.map((a) => [
      a.id,
      {
        ...a.stats,
        health: {
          degraded: a.degraded,
          reason: a.degraded ? 'latency 4 s in 7 of the newest 9 vs baseline 1 s' : null,
        },
      },
    ]),
  );
  return {
    node: self,
    now: pass.now,
    settleMs: pass.settleMs,
    ready: pass.tasks.map((t, i) => ({
      spec: spec({
        id: t.id,
        idempotencyKey: t.id,
        needs: [...t.needs].sort(),
        resources: t.gpu ? { gpu: 1 } : {},
        priority: t.priority,
      }),
      epoch: t.epoch,
      urgency: i,
    })),
    agents: order(infos.filter((_, i) => pass.agents[i]!.listed)),
    local: new Map(
      order(infos.filter((a, i) => a.node === self && pass.agents[i]!.registered)).map((a) => [a.id, a]),
    ),
    loads: new Map(order(pass.agents.map((a) => [a.id, a.load] as const))),
    held,
    stats: (id) => stats.get(id)!,
    resourcesAvailable: (needs) => Object.keys(needs).length === 0 || pass.gpuFree,
  };
}

/** Load of each agent when the pass reaches ready task `i`: its load plus the claims made before. */
function loadsAt(
  input: ClaimInputs,
  claimed: ReadonlyMap<string, string>,
  i: number,
): (id: string) => number {
  const tasks = [...input.ready];
  const extra = new Map<string, number>();
  for (const t of tasks.slice(0, i)) {
    const a = claimed.get(t.spec.id);
    if (a !== undefined) extra.set(a, (extra.get(a) ?? 0) + 1);
  }
  return (id) => (input.loads.get(id) ?? 0) + (extra.get(id) ?? 0);
}

/** The agents of this node listed alive that could take `task` at `load`. */
function eligibleHere(input: ClaimInputs, task: TaskSpec, load: (id: string) => number): AgentInfo[] {
  return input.agents.filter(
    (a) =>
      a.node === self &&
      input.local.has(a.id) &&
      ineligibility(task, a, {
        alive: true,
        load: load(a.id),
        dependenciesSucceeded: true,
        resourcesAvailable: input.resourcesAvailable(task.resources),
      }) === null,
  );
}

/** The agents `task` is ranked among, as decideClaims builds them. */
function candidatesOf(input: ClaimInputs, task: TaskSpec): readonly AgentInfo[] {
  return createCandidateWindow(input.agents, 32).of(task);
}

describe('decideClaims', () => {
  it('claims only for agents registered on this node and listed alive, never over capacity or ineligible', () => {
    fc.assert(
      fc.property(arbPass, (pass) => {
        const input = inputs(pass);
        const { claims } = decideClaims(input);
        const claimed = new Map(claims.map((c) => [c.task, c.agent]));
        const tasks = [...input.ready];
        for (const c of claims) {
          expect(c.node).toBe(self);
          expect(input.local.has(c.agent)).toBe(true);
          const info = input.agents.find((a) => a.id === c.agent);
          expect(info).toBeDefined();
          const i = tasks.findIndex((t) => t.spec.id === c.task);
          const load = loadsAt(input, claimed, i);
          const why = ineligibility(tasks[i]!.spec, info!, {
            alive: true,
            load: load(c.agent),
            dependenciesSucceeded: true,
            resourcesAvailable: input.resourcesAvailable(tasks[i]!.spec.resources),
          });
          expect(why).toBeNull();
        }
        for (const a of input.local.values()) {
          const taken = claims.filter((c) => c.agent === a.id).length;
          if (taken > 0) expect((input.loads.get(a.id) ?? 0) + taken).toBeLessThanOrEqual(a.capacity);
        }
      }),
      runs,
    );
  });

  it('decides each task read at most once, in queue order, and never stops while an agent has room', () => {
    fc.assert(
      fc.property(arbPass, (pass) => {
        const input = inputs(pass);
        const { claims, holds, passed } = decideClaims(input);
        const decided = [
          ...claims.map((c) => c.task),
          ...holds.map((h) => h.task),
          ...passed.map((p) => p.spec.id),
        ];
        expect(new Set(decided).size).toBe(decided.length);
        const order = [...input.ready].map((t) => t.spec.id);
        expect(new Set(decided)).toEqual(new Set(order.slice(0, decided.length)));
        if (decided.length < order.length) {
          const claimed = new Map(claims.map((c) => [c.task, c.agent]));
          expect(hasRoom(input.local.values(), loadsAt(input, claimed, order.length))).toBe(false);
        }
      }),
      runs,
    );
  });

  it('decides alike for equal inputs, whatever order the agents are listed in', () => {
    fc.assert(
      fc.property(arbPass, (pass) => {
        const first = decideClaims(inputs(pass));
        expect(decideClaims(inputs(pass))).toEqual(first);
        expect(decideClaims(inputs(pass, true))).toEqual(first);
      }),
      runs,
    );
  });

  it('claims the next epoch for the best-scoring local agent; a task passed over has no local agent that could take it', () => {
    fc.assert(
      fc.property(arbPass, (pass) => {
        const input = inputs(pass);
        const { claims, passed } = decideClaims(input);
        const claimed = new Map(claims.map((c) => [c.task, c.agent]));
        const tasks = [...input.ready];
        for (const c of claims) {
          const i = tasks.findIndex((t) => t.spec.id === c.task);
          const { spec: task, epoch } = tasks[i]!;
          expect(c.epoch).toBe(epoch);
          expect(c.at).toBe(input.now);
          const stepsIn = input.held.get(task.id)?.epoch === epoch;
          expect(c.settleMs).toBe(stepsIn ? 2 * input.settleMs : input.settleMs);
          const load = loadsAt(input, claimed, i);
          for (const a of eligibleHere(input, task, load))
            expect(c.score).toBeGreaterThanOrEqual(scoreAgent(task, a, load(a.id), input.stats(a.id)));
        }
        for (const p of passed) {
          const i = tasks.findIndex((t) => t.spec.id === p.spec.id);
          expect(eligibleHere(input, p.spec, loadsAt(input, claimed, i))).toEqual([]);
          expect(p.urgency).toBe(i);
        }
      }),
      runs,
    );
  });

  it("a node ranked r-th (healthy agents first, then by rendezvous hash) holds back r windows, claims at once when first and one of the task's leaders, and steps in once its hold has ended", () => {
    fc.assert(
      fc.property(arbPass, (pass) => {
        const input = inputs(pass);
        const { claims, holds } = decideClaims(input);
        const claimed = new Map(claims.map((c) => [c.task, c.agent]));
        const tasks = [...input.ready];
        /** Other nodes with an agent that could take task `i` and outranks every local one that could. */
        const nodesAhead = (i: number): number => {
          const task = tasks[i]!.spec;
          const here = eligibleHere(input, task, loadsAt(input, claimed, i));
          const rank = (a: AgentInfo): number =>
            (input.stats(a.id).health?.degraded === true ? 0 : 1) + rendezvous(task.id, a.id);
          const best = Math.max(...here.map(rank));
          const ahead = input.agents.filter(
            (a) =>
              a.node !== self &&
              rank(a) > best &&
              ineligibility(task, a, {
                alive: true,
                load: input.loads.get(a.id) ?? 0,
                dependenciesSucceeded: true,
                resourcesAvailable: true,
              }) === null,
          );
          const nodes = new Set(ahead.map((a) => a.node)).size;
          if (nodes > 0) return nodes;
          // First, but without a leader (an agent on the first nodes by hash alone): a window's wait.
          const leading = leaders(task, candidatesOf(input, task));
          return here.some((a) => leading.has(a.id)) ? 0 : 1;
        };
        for (const h of holds) {
          const i = tasks.findIndex((t) => t.spec.id === h.task);
          expect(h.epoch).toBe(tasks[i]!.epoch);
          expect(input.held.get(h.task)?.epoch).not.toBe(h.epoch);
          const rank = nodesAhead(i);
          expect(rank).toBeGreaterThan(0);
          expect(h.until).toBe(input.now + rank * input.settleMs);
        }
        for (const c of claims) {
          const i = tasks.findIndex((t) => t.spec.id === c.task);
          const steppedIn = input.held.get(c.task)?.epoch === c.epoch;
          if (!steppedIn) expect(nodesAhead(i)).toBe(0);
          expect(c.stepIn === true).toBe(steppedIn);
        }
      }),
      runs,
    );
  });

  it('reads the ready queue lazily: tasks past where the pass stops are not read', () => {
    const one = agent({ id: 'a', node: self, capacity: 1 });
    let read = 0;
    function* ready() {
      for (let i = 0; i < 1000; i++) {
        read++;
        yield { spec: spec({ id: `t${i}`, idempotencyKey: `t${i}` }), epoch: 1, urgency: i };
      }
    }
    const { claims } = decideClaims({
      node: self,
      now: 1000,
      settleMs: 50,
      ready: ready(),
      agents: [one],
      local: new Map([['a', one]]),
      loads: new Map(),
      held: new Map(),
      stats: () => ({ successes: 0, failures: 0, meanLatencyMs: null }),
      resourcesAvailable: () => true,
    });
    expect(claims.map((c) => c.task)).toEqual(['t0']);
    expect(read).toBe(1);
  });
});

describe('leaders', () => {
  it('are the candidates on the first nodes by rendezvous hash alone, the same whatever order they are listed in', () => {
    fc.assert(
      fc.property(arbPass, (pass) => {
        const input = inputs(pass);
        for (const { spec: task } of input.ready) {
          const among = candidatesOf(input, task);
          const led = leaders(task, among);
          expect(leaders(task, [...among].reverse())).toEqual(led);
          const nodes = new Set(among.filter((a) => led.has(a.id)).map((a) => a.node));
          expect(nodes.size).toBe(Math.min(LEADER_NODES, new Set(among.map((a) => a.node)).size));
          // Every agent on a leading node leads, and each leading node's best agent outranks every
          // agent of the other nodes.
          for (const a of among) expect(led.has(a.id)).toBe(nodes.has(a.node));
          const best = (node: string): number =>
            Math.max(...among.filter((a) => a.node === node).map((a) => rendezvous(task.id, a.id)));
          const lowest = Math.min(...[...nodes].map(best));
          for (const a of among)
            if (!nodes.has(a.node)) expect(rendezvous(task.id, a.id)).toBeLessThan(lowest);
        }
      }),
      runs,
    );
  });
});

describe('candidate window', () => {
  const nodes = Array.from({ length: 60 }, (_, i) => `m${String(i).padStart(2, '0')}`);
  const all = nodes.flatMap((n) => [
    agent({ id: `${n}-a`, node: n, capabilities: ['work'], capacity: 2 }),
    agent({ id: `${n}-b`, node: n, capabilities: ['work', 'gpu'], capacity: 2 }),
  ]);
  const tasks = Array.from({ length: 40 }, (_, i) =>
    spec({ id: `task-${i}`, idempotencyKey: `task-${i}`, needs: i % 4 === 0 ? ['gpu'] : ['work'] }),
  );
  const pass = (node: string) =>
    decideClaims({
      node,
      now: 5000,
      settleMs: 50,
      ready: tasks.map((s, i) => ({ spec: s, epoch: 1, urgency: i })),
      agents: all,
      local: new Map(all.filter((a) => a.node === node).map((a) => [a.id, a])),
      loads: new Map(),
      held: new Map(),
      stats: () => ({ successes: 0, failures: 0, meanLatencyMs: null }),
      resourcesAvailable: () => true,
      window: 8,
    });

  it('ranks each task among a bounded window of covering agents, the same on every replica', () => {
    const window = createCandidateWindow(all, 8);
    const claimsByTask = new Map<string, string[]>();
    for (const n of nodes)
      for (const c of pass(n).claims)
        claimsByTask.set(c.task, [...(claimsByTask.get(c.task) ?? []), c.agent]);
    for (const s of tasks) {
      const candidates = window.of(s).map((a) => a.id);
      expect(candidates).toHaveLength(8);
      expect(new Set(candidates).size).toBe(8);
      // Exactly one node claims at once; the others hold back for it.
      const claimers = claimsByTask.get(s.id) ?? [];
      expect(claimers).toHaveLength(1);
      expect(candidates).toContain(claimers[0]);
      for (const a of window.of(s)) expect(a.capabilities).toEqual(expect.arrayContaining([...s.needs]));
    }
  });

  it('ranks among every covering agent when they fit in the window', () => {
    const few = all.slice(0, 6);
    expect(
      createCandidateWindow(few, 8)
        .of(tasks[1]!)
        .map((a) => a.id),
    ).toEqual(few.map((a) => a.id));
  });
});
