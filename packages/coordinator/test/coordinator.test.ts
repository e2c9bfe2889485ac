import type { Value } from '@meshwork/core';
import { describe, expect, it } from 'vitest';
import {
  CoordinatorError,
  PermanentTaskError,
  type Coordinator,
  type CoordinatorOptions,
  type DocumentPools,
  type TaskContext,
} from '../src/index.ts';
import { coordinatorOn, virtualMesh } from './fixtures.ts';
import { healthy } from '../../../test/sim/network.ts';

/** An agent whose tasks run until they are aborted. */
const holder = {
  id: 'holder',
  capabilities: ['long'],
  handler: (_task: unknown, ctx: TaskContext) =>
    new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve())),
};

/** A small mesh on virtual time (see virtualMesh), with a sleep that ends on abort. */
function mesh(
  nodes = 1,
  backend: 'memory' | 'document' = 'memory',
  extra: Partial<CoordinatorOptions> = {},
  timerLagMs = 0,
) {
  const m = virtualMesh({ nodes, backend, seed: 7, coordinator: extra, timerLagMs });
  const { net } = m;
  const sleep = (ctx: TaskContext, ms: number, clockOf = net.node('n0').clock) =>
    new Promise<void>((resolve, reject) => {
      const cancel = clockOf.setTimer(resolve, ms);
      ctx.signal.addEventListener('abort', () => {
        cancel();
        reject(ctx.signal.reason as Error);
      });
    });
  /** Registers an agent that notes each task it starts in `order`, then works on it for `ms(task)`. */
  const noting = (
    c: Coordinator,
    id: string,
    capability: string,
    order: string[],
    ms: (task: string) => number,
  ) =>
    c.registerAgent({
      id,
      capabilities: [capability],
      handler: async (task, ctx) => {
        order.push(task.id);
        await sleep(ctx, ms(task.id));
      },
    });
  return { ...m, sleep, noting };
}

describe('coordinator', () => {
  it('runs a submitted task once and stores the accepted result, progress and the attempt', async () => {
    const { coords, run } = mesh(1);
    const [c] = coords as [Coordinator];
    const seen: TaskContext[] = [];
    c.registerAgent({
      id: 'a',
      capabilities: ['echo'],
      handler: (task, ctx) => {
        seen.push(ctx);
        ctx.progress({ half: true });
        return { echoed: ctx.input };
      },
    });
    const events: string[] = [];
    for (const e of ['claim', 'start', 'attempt'] as const) c.events.on(e, () => events.push(e));
    const id = c.submit({ type: 'echo', input: { x: 1 }, idempotencyKey: 'k-1' });
    await run(1000);
    expect(c.get(id)).toMatchObject({
      status: 'succeeded',
      result: { echoed: { x: 1 } },
      progress: { half: true },
      agent: 'a',
      epoch: 1,
    });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ epoch: 1, idempotencyKey: 'k-1', attempt: 1 });
    expect(events).toEqual(['claim', 'start', 'attempt']);
    expect(c.attempts(id)).toMatchObject([{ attempt: 1, agent: 'a', outcome: 'succeeded' }]);
    expect(c.list({ status: 'succeeded' }).map((t) => t.id)).toEqual([id]);
  });

  it('writes no start record for an attempt that ends before the next pass: its end stands for it', async () => {
    const { coords, run, net, sleep } = mesh(2);
    const [a, b] = coords as [Coordinator, Coordinator];
    a.registerAgent({
      id: 'a',
      capabilities: ['quick', 'slow'],
      capacity: 2,
      handler: async (task, ctx) =>
        task.spec.type === 'slow' ? sleep(ctx, 1000).then(() => 'slow') : 'quick',
    });
    await run(500);
    const quick = a.submit({ type: 'quick' });
    const slow = a.submit({ type: 'slow' });
    await run(500);
    expect(b.get(slow)).toMatchObject({ status: 'running', agent: 'a' });
    expect(b.get(quick)).toMatchObject({ status: 'succeeded', result: 'quick' });
    const started = [...net.node('n1').state.store.entries('start')].map(([key]) => key.split('|')[0]);
    expect(started).toEqual([slow]);
    const [attempt] = b.attempts(quick);
    expect(attempt).toMatchObject({ attempt: 1, agent: 'a', outcome: 'succeeded' });
    expect(attempt!.startedAt).toBeLessThanOrEqual(attempt!.endedAt!);
    await run(1500);
    expect(b.attempts(slow)).toMatchObject([{ attempt: 1, agent: 'a', outcome: 'succeeded' }]);
  });

  it('retries failures with backoff up to maxAttempts; a permanent error fails at once', async () => {
    const { coords, run } = mesh(1);
    const [c] = coords as [Coordinator];
    let calls = 0;
    c.registerAgent({
      id: 'a',
      capabilities: ['flaky', 'broken'],
      handler: (task) => {
        if (task.spec.type === 'broken') throw new PermanentTaskError('bad input');
        if (++calls < 3) throw new Error(`fail ${calls}`);
        return 'ok';
      },
    });
    const flaky = c.submit({
      type: 'flaky',
      retry: { maxAttempts: 3, backoff: { initialMs: 100, jitter: 0 } },
    });
    const broken = c.submit({ type: 'broken' });
    await run(5000);
    expect(c.get(flaky)).toMatchObject({ status: 'succeeded', result: 'ok', attemptsUsed: 3, epoch: 3 });
    expect(c.attempts(flaky).map((a) => a.outcome)).toEqual(['failed', 'failed', 'succeeded']);
    const [a1, a2, a3] = c.attempts(flaky);
    expect(a2!.startedAt - a1!.endedAt!).toBeGreaterThanOrEqual(100);
    expect(a3!.startedAt - a2!.endedAt!).toBeGreaterThanOrEqual(200);
    expect(c.get(broken)).toMatchObject({ status: 'failed', attemptsUsed: 1 });
    expect(c.get(broken)!.error).toMatch(/bad input/);
    // Nobody can take this one; the other is cancelled before it starts.
    c.submit({ type: 'unknown' });
    c.cancel(c.submit({ type: 'unknown' }));
    await run(100);
    expect(c.counts()).toEqual({ pending: 1, claimed: 0, running: 0, succeeded: 1, failed: 1, cancelled: 1 });
  });

  it('cancellation reaches the running handler as an AbortSignal; run timeouts abort too', async () => {
    const { coords, run, sleep } = mesh(1);
    const [c] = coords as [Coordinator];
    const aborted: string[] = [];
    c.registerAgent({
      id: 'a',
      capabilities: ['slow'],
      capacity: 2,
      handler: async (task, ctx) => {
        ctx.signal.addEventListener('abort', () => aborted.push(task.id));
        await sleep(ctx, 60_000);
      },
    });
    const cancelled = c.submit({ type: 'slow' });
    const timed = c.submit({
      type: 'slow',
      timeouts: { runMs: 1000 },
      retry: { maxAttempts: 2, backoff: { initialMs: 10 } },
    });
    await run(500);
    expect(c.get(cancelled)!.status).toBe('running');
    c.cancel(cancelled, 'no longer needed');
    await run(5000);
    expect(c.get(cancelled)).toMatchObject({ status: 'cancelled', error: 'no longer needed' });
    expect(c.get(timed)).toMatchObject({ status: 'failed', attemptsUsed: 2 });
    expect(c.attempts(timed).map((a) => a.outcome)).toEqual(['timed-out', 'timed-out']);
    expect(aborted.filter((t) => t === cancelled)).toHaveLength(1);
    expect(aborted.filter((t) => t === timed)).toHaveLength(2);
  });

  it('release() hands an attempt back: the next epoch starts at once, without a backoff, and the late failure is ignored', async () => {
    const { coords, run, net } = mesh(1);
    const [c] = coords as [Coordinator];
    const clock = net.node('n0').clock;
    const releasing = c.registerAgent({
      id: 'a',
      capabilities: ['work'],
      handler: (_task, ctx) =>
        new Promise((_resolve, reject) => {
          ctx.signal.addEventListener('abort', () => reject(new Error('the worker is gone')));
          clock.setTimer(() => {
            releasing.unregister();
            ctx.release();
            ctx.release();
          }, 500);
        }),
    });
    const id = c.submit({ type: 'work', retry: { maxAttempts: 3, backoff: { initialMs: 60_000 } } });
    await run(300);
    expect(c.get(id)).toMatchObject({ status: 'running', agent: 'a', epoch: 1 });
    c.registerAgent({ id: 'b', capabilities: ['work'], handler: () => 'done' });
    await run(700);
    expect(c.get(id)).toMatchObject({
      status: 'succeeded',
      agent: 'b',
      epoch: 2,
      attemptsUsed: 2,
      result: 'done',
    });
    // The released epoch's start was written with its expiry; its handler's failure was not.
    expect(c.attempts(id)).toMatchObject([
      { epoch: 1, agent: 'a', outcome: 'running', endedAt: null },
      { epoch: 2, agent: 'b', outcome: 'succeeded' },
    ]);
  });

  it('fails a task nobody starts before its schedule-to-start deadline', async () => {
    const { coords, run } = mesh(1);
    const [c] = coords as [Coordinator];
    const id = c.submit({ type: 'nobody-can', timeouts: { scheduleToStartMs: 1000 } });
    await run(900);
    expect(c.get(id)!.status).toBe('pending');
    await run(500);
    expect(c.get(id)).toMatchObject({ status: 'failed', error: 'schedule-to-start timeout' });
  });

  it('claims, expires and times out nothing before options.catchUp settles, then resumes', async () => {
    let caughtUp!: () => void;
    const catchUp = new Promise<void>((resolve) => (caughtUp = resolve));
    const { coords, run } = mesh(1, 'memory', { catchUp });
    const [c] = coords as [Coordinator];
    const claims: string[] = [];
    const ready: number[] = [];
    c.events.on('claim', (e) => claims.push(e.task));
    c.events.on('ready', (e) => ready.push(e.at));
    c.registerAgent({ id: 'a', capabilities: ['echo'], handler: () => 'done' });
    const id = c.submit({ type: 'echo' });
    const late = c.submit({ type: 'nobody-can', timeouts: { scheduleToStartMs: 1000 } });
    await run(5000);
    expect(c.caughtUp).toBe(false);
    expect(claims).toEqual([]);
    expect(c.get(id)!.status).toBe('pending');
    // Its deadline passed while catching up: the timeout is written after, from the current state.
    expect(c.get(late)!.status).toBe('pending');
    caughtUp();
    await run(1000);
    expect(c.caughtUp).toBe(true);
    expect(ready).toHaveLength(1);
    expect(claims).toEqual([id]);
    expect(c.get(id)).toMatchObject({ status: 'succeeded', result: 'done', epoch: 1 });
    expect(c.get(late)).toMatchObject({ status: 'failed', error: 'schedule-to-start timeout' });
  });

  it('runs dependencies first and fails dependents of a failed task', async () => {
    const { coords, run } = mesh(1);
    const [c] = coords as [Coordinator];
    const order: string[] = [];
    c.registerAgent({
      id: 'a',
      capabilities: ['w', 'bad'],
      capacity: 4,
      handler: (task) => {
        order.push(task.id);
        if (task.spec.type === 'bad') throw new PermanentTaskError('no');
      },
    });
    const second = c.submit({ id: 'second', type: 'w', dependsOn: ['first'] });
    const first = c.submit({ id: 'first', type: 'w' });
    const bad = c.submit({ id: 'bad', type: 'bad' });
    const orphan = c.submit({ id: 'orphan', type: 'w', dependsOn: ['bad'] });
    await run(3000);
    expect(order.indexOf(first)).toBeLessThan(order.indexOf(second));
    expect(c.get(second)!.status).toBe('succeeded');
    expect(c.get(bad)!.status).toBe('failed');
    expect(c.get(orphan)).toMatchObject({ status: 'failed', error: 'dependency bad failed' });
  });

  it('a node stepping in for a higher-ranked one that never claimed decides after a doubled window', async () => {
    const { coords, run, net } = mesh(2);
    const [a, b] = coords as [Coordinator, Coordinator];
    for (const [c, id] of [
      [a, 'a'],
      [b, 'b'],
    ] as const)
      c.registerAgent({ id, capabilities: ['job'], capacity: 20, handler: () => 'done' });
    await run(500);
    // n1 still looks alive to n0 but sees none of its tasks: where n1's agent ranks first, n0 holds back, then steps in.
    net.partition([['n0'], ['n1']]);
    const ids = Array.from({ length: 20 }, () => a.submit({ type: 'job' }));
    await run(400);
    const windows = [...net.node('n0').state.store.entries('claim')].map(
      ([, v]) => (v as { settleMs: number }).settleMs,
    );
    const direct = Math.min(...windows);
    expect(windows).toHaveLength(20);
    expect(windows.filter((w) => w === direct).length).toBeGreaterThan(0);
    expect(windows.filter((w) => w === 2 * direct).length).toBeGreaterThan(0);
    expect(windows.every((w) => w === direct || w === 2 * direct)).toBe(true);
    net.heal();
    await run(2000);
    for (const id of ids) expect(b.get(id)).toMatchObject({ status: 'succeeded', agent: 'a', epoch: 1 });
  });

  it('still starts every task once when its scheduling passes run late', async () => {
    const { coords, run } = mesh(2, 'memory', {}, 120);
    const starts: string[] = [];
    coords.forEach((c, i) =>
      c.registerAgent({
        id: `busy-${i}`,
        capabilities: ['job'],
        capacity: 4,
        handler: (task) => void starts.push(task.id),
      }),
    );
    await run(1000);
    const ids = Array.from({ length: 12 }, (_, i) => coords[i % 2]!.submit({ id: `job-${i}`, type: 'job' }));
    await run(10_000);
    for (const c of coords) expect(ids.map((id) => c.get(id)?.status)).toEqual(ids.map(() => 'succeeded'));
    expect(starts.sort()).toEqual([...ids].sort());
  });

  it('moves the tasks of a crashed node to another agent within seconds', async () => {
    const { coords, net, sched, run } = mesh(3);
    const starts: { node: string; at: number }[] = [];
    coords.forEach((c, i) =>
      c.registerAgent({
        id: `agent-${i}`,
        capabilities: ['long'],
        handler: async (_task, ctx) => {
          starts.push({ node: `n${i}`, at: sched.now() });
          await new Promise<void>((resolve) => net.node(`n${i}`).clock.setTimer(resolve, 10_000));
          void ctx;
        },
      }),
    );
    await run(1000);
    const id = coords[0]!.submit({ type: 'long', retry: { maxAttempts: 5 } });
    await run(1000);
    expect(starts).toHaveLength(1);
    const victim = starts[0]!;
    net.crash(victim.node);
    await run(5000);
    expect(starts).toHaveLength(2);
    expect(starts[1]!.node).not.toBe(victim.node);
    expect(starts[1]!.at - victim.at).toBeLessThan(3000);
    await run(15_000);
    const survivor = coords.find((_, i) => `n${i}` !== victim.node)!;
    expect(survivor.get(id)).toMatchObject({ status: 'succeeded', epoch: 2 });
  });

  it('measures delivery delay on lease renewals too, so a mesh running tasks with nothing to claim keeps its window', async () => {
    const { coords, net, run } = mesh(2);
    net.setFaults({ ...healthy, minLatencyMs: 150, maxLatencyMs: 150 });
    coords[0]!.registerAgent(holder);
    await run(1000);
    coords[0]!.submit({ type: 'long' });
    // Long past the point where the claim's sample has gone stale (10 s): the renewals, 150 ms in
    // transit each, are what the window is measured on.
    await run(30_000);
    expect(coords[1]!.settleMs()).toBe(300);
    expect(coords[1]!.list({ status: 'running' })).toHaveLength(1);
  });

  it('does not take the backlog a restarted node receives for delivery delay', async () => {
    const { coords, net, run } = mesh(2, 'document');
    net.setFaults({ ...healthy, minLatencyMs: 150, maxLatencyMs: 150 });
    coords[0]!.registerAgent({ id: 'quick', capabilities: ['echo'], handler: () => 'done' });
    coords[0]!.registerAgent(holder);
    await run(1000);
    net.crash('n1');
    // Claims written while n1 is away reach it seconds after they were written.
    for (let i = 0; i < 8; i++) {
      coords[0]!.submit({ type: 'echo' });
      await run(500);
    }
    coords[0]!.submit({ type: 'long' });
    await run(1000);
    const restarted = coordinatorOn(net.restart('n1'));
    await run(3000);
    expect(restarted.list({ status: 'succeeded' })).toHaveLength(8);
    // Measured on the renewals written since it came back, 150 ms in transit each.
    expect(restarted.settleMs()).toBe(300);
    await restarted.stop();
  });

  it('stop() drains, then releases leases so another node takes over at once', async () => {
    const { coords, net, sched, run } = mesh(2);
    const starts: string[] = [];
    coords.forEach((c, i) =>
      c.registerAgent({
        id: `agent-${i}`,
        capabilities: ['job'],
        handler: (_t, ctx) =>
          new Promise<Value>((resolve, reject) => {
            starts.push(`n${i}@${sched.now()}`);
            const cancel = net.node(`n${i}`).clock.setTimer(() => resolve('done'), 20_000);
            ctx.signal.addEventListener('abort', () => {
              cancel();
              reject(new Error('aborted'));
            });
          }),
      }),
    );
    await run(1000);
    const id = coords[0]!.submit({ type: 'job' });
    await run(500);
    const holder = coords.findIndex((c) => c.get(id)!.agent === `agent-${coords.indexOf(c)}`);
    expect(holder).toBeGreaterThanOrEqual(0);
    const stopping = coords[holder]!.stop({ drainMs: 100 });
    await run(200);
    await stopping;
    await run(300);
    expect(starts).toHaveLength(2);
    const other = coords[1 - holder]!;
    expect(other.get(id)).toMatchObject({ status: 'running', agent: `agent-${1 - holder}` });
    expect(() => coords[holder]!.submit({ type: 'job' })).toThrow(CoordinatorError);
  });

  it('a second stop() resolves only once the drain the first one started is over', async () => {
    const { coords, net, run } = mesh(1);
    const coord = coords[0]!;
    let aborted = false;
    coord.registerAgent({
      id: 'a',
      capabilities: ['job'],
      handler: (_t, ctx) =>
        new Promise<Value>((resolve, reject) => {
          const cancel = net.node('n0').clock.setTimer(() => resolve('done'), 20_000);
          ctx.signal.addEventListener('abort', () => {
            aborted = true;
            cancel();
            reject(new Error('aborted'));
          });
        }),
    });
    await run(1000);
    const id = coord.submit({ type: 'job' });
    await run(500);
    expect(coord.get(id)!.status).toBe('running');
    const first = coord.stop({ drainMs: 1000 });
    // What the caller of the second stop() finds when it resumes.
    const second = coord.stop().then(() => ({ aborted, agents: coord.agents().filter((a) => a.alive) }));
    await run(2000);
    await first;
    expect(await second).toEqual({ aborted: true, agents: [] });
  });

  it('stop() stops the node even when the store refuses its final writes', async () => {
    const { coords, net, sched, run } = mesh(2, 'document');
    const coord = coords[0]!;
    // A later 'change' listener that throws, as the daemon's persistence does once its event log failed.
    let refuse = false;
    net.node('n0').state.document!.on('change', (e) => {
      if (refuse && e.local) throw new Error('event log failed');
    });
    let aborted = false;
    coord.registerAgent({
      id: 'a',
      capabilities: ['job'],
      // It notes the abort but finishes anyway, after the stop: its result cannot be written either.
      handler: (_t, ctx) =>
        new Promise<Value>((resolve) => {
          net.node('n0').clock.setTimer(() => resolve('done'), 20_000);
          ctx.signal.addEventListener('abort', () => (aborted = true));
        }),
    });
    await run(1000);
    const id = coord.submit({ type: 'job' });
    await run(500);
    expect(coord.get(id)!.status).toBe('running');
    refuse = true;
    const stopped = coord.stop({ drainMs: 0 }).then(
      () => null,
      (e: unknown) => e,
    );
    await run(10);
    expect(await stopped).toEqual(new Error('event log failed'));
    expect(aborted).toBe(true);
    // Its timers stopped too: no more heartbeats reach the other node (once those in flight are in).
    await run(1000);
    const heartbeats: number[] = [];
    net.node('n1').presence.on('presence', (peer, state) => {
      if (peer === 'n0' && state !== null) heartbeats.push(sched.now());
    });
    await run(30_000);
    expect(heartbeats).toEqual([]);
  });

  it('runs a workflow across nodes and shows agents mesh-wide with load and history', async () => {
    const { coords, run } = mesh(2);
    coords.forEach((c, i) =>
      c.registerAgent({
        id: `w${i}`,
        capabilities: ['step'],
        capacity: 2,
        handler: (_t, ctx) => ((ctx.input as { n?: number }).n ?? 0) + 1,
      }),
    );
    const wf = coords[0]!.workflows.start(
      {
        name: 'count',
        params: ['start'],
        steps: [
          { id: 'a', type: 'step', input: { n: 'params.start' } },
          { id: 'b', type: 'step', input: { n: 'steps.a.result' } },
          { id: 'fan', type: 'step', forEach: '(1, 2)', input: { n: 'item + steps.b.result' } },
        ],
      },
      { start: 10 },
    );
    await run(5000);
    for (const c of coords) {
      const v = c.workflows.get(wf)!;
      expect(v.status).toBe('succeeded');
      expect(v.tasks).toHaveLength(4);
      expect(v.tasks.map((t) => c.get(t)!.result)).toEqual([11, 12, 14, 15]);
    }
    const agents = coords[1]!.agents();
    expect(agents.map((a) => a.id).sort()).toEqual(['w0', 'w1']);
    expect(agents.every((a) => a.alive)).toBe(true);
    expect(agents.reduce((s, a) => s + a.stats.successes, 0)).toBe(4);
  });

  it('runs resource-bound tasks only where the pool right can be taken, moving rights on demand', async () => {
    const { coords, net, sched, run } = mesh(3, 'document');
    const pools = coords[0]!.pools as DocumentPools;
    pools.add('gpu', 1);
    let running = 0;
    let most = 0;
    const ran: string[] = [];
    coords.slice(1).forEach((c, i) =>
      c.registerAgent({
        id: `gpu-agent-${i}`,
        capabilities: ['render'],
        capacity: 2,
        handler: async () => {
          most = Math.max(most, ++running);
          ran.push(`n${i + 1}`);
          await new Promise<void>((resolve) => net.node(`n${i + 1}`).clock.setTimer(resolve, 300));
          running--;
        },
      }),
    );
    const ids = Array.from({ length: 4 }, () => coords[0]!.submit({ type: 'render', resources: { gpu: 1 } }));
    const values: number[] = [];
    for (let t = 0; t < 100; t++) {
      await run(100);
      values.push(...coords.map((c) => (c.pools as DocumentPools).value('gpu')));
    }
    expect(ids.map((id) => coords[0]!.get(id)!.status)).toEqual([
      'succeeded',
      'succeeded',
      'succeeded',
      'succeeded',
    ]);
    expect(most).toBe(1);
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(coords.map((c) => (c.pools as DocumentPools).value('gpu'))).toEqual([1, 1, 1]);
    expect(pools.rights('gpu')).toBeLessThan(1);
    void sched;
  });

  it('claims no more pool-bound tasks than the pool rights it holds, so none loses an attempt waiting for them', async () => {
    const { coords, net, run } = mesh(2, 'document');
    (coords[0]!.pools as DocumentPools).add('gpu', 2);
    let running = 0;
    let most = 0;
    coords.forEach((c, i) =>
      c.registerAgent({
        id: `renderer-${i}`,
        capabilities: ['render'],
        capacity: 4,
        handler: async () => {
          most = Math.max(most, ++running);
          await new Promise<void>((resolve) => net.node(`n${i}`).clock.setTimer(resolve, 200));
          running--;
        },
      }),
    );
    const ids = Array.from({ length: 6 }, () => coords[1]!.submit({ type: 'render', resources: { gpu: 1 } }));
    await run(20_000);
    expect(ids.map((id) => [coords[1]!.get(id)!.status, coords[1]!.get(id)!.attemptsUsed])).toEqual(
      Array(6).fill(['succeeded', 1]),
    );
    expect(most).toBeLessThanOrEqual(2);
  });

  it('keeps agent history in a TimeSeries and ranks by it', async () => {
    const { coords, run } = mesh(2, 'document');
    coords.forEach((c, i) => c.registerAgent({ id: `h${i}`, capabilities: ['job'], handler: () => null }));
    for (let i = 0; i < 6; i++) coords[0]!.submit({ type: 'job' });
    // Scoring reads history through a one-second cache.
    await run(5000);
    const stats = coords[1]!.agents().map((a) => a.stats);
    // Nodes that have not heard each other's heartbeats yet leave each other's tasks to their leases.
    expect(coords[1]!.list().map((t) => [t.status, t.attemptsUsed])).toEqual(Array(6).fill(['succeeded', 1]));
    expect(stats.reduce((n, s) => n + s.successes, 0)).toBe(6);
    expect(stats.every((s) => s.failures === 0)).toBe(true);
  });

  it('runs higher priorities first', async () => {
    const { coords, run, noting } = mesh(1);
    const [c] = coords as [Coordinator];
    const order: string[] = [];
    noting(c, 'solo', 'p', order, () => 1000);
    c.submit({ id: 'busy', type: 'p' });
    await run(100);
    c.submit({ id: 'old-low', type: 'p', priority: 0 });
    await run(100);
    c.submit({ id: 'high', type: 'p', priority: 5 });
    c.submit({ id: 'low', type: 'p', priority: 1 });
    await run(5000);
    expect(order).toEqual(['busy', 'high', 'low', 'old-low']);
  });

  it('ages waiting tasks: an old low-priority task overtakes a newer high-priority one', async () => {
    const { coords, run, noting } = mesh(1, 'memory', { agingMs: 1000 });
    const [c] = coords as [Coordinator];
    const order: string[] = [];
    noting(c, 'solo', 'p', order, (task) => (task === 'busy' ? 3000 : 100));
    c.submit({ id: 'busy', type: 'p' });
    await run(100);
    c.submit({ id: 'old', type: 'p', priority: 0 });
    await run(2800);
    // When 'busy' ends, 'old' has waited ~3 s (3 points), 'new' ~0.2 s (2 + 0.2 points).
    c.submit({ id: 'new', type: 'p', priority: 2 });
    await run(2000);
    expect(order).toEqual(['busy', 'old', 'new']);
  });

  it('a backlog of urgent tasks this node cannot run does not hide the ones it can', async () => {
    const { coords, run, noting } = mesh(1);
    const [c] = coords as [Coordinator];
    const ran: string[] = [];
    noting(c, 'gpu', 'gpu', ran, () => 10_000);
    c.registerAgent({ id: 'cpu', capabilities: ['cpu'], handler: (task) => void ran.push(task.id) });
    for (let i = 0; i < 40; i++) c.submit({ id: `gpu-${i}`, type: 'gpu', priority: 5 });
    c.submit({ id: 'cpu-0', type: 'cpu' });
    await run(2000);
    // The gpu agent is busy for 10 s; the cpu agent is free and takes its task at once.
    expect(ran).toEqual(['gpu-0', 'cpu-0']);
  });

  it('ignores malformed records from other replicas instead of crashing', async () => {
    const { coords, net, run } = mesh(1);
    const [c] = coords as [Coordinator];
    const malformed: number[] = [];
    c.events.on('malformed', (e) => malformed.push(e.count));
    c.registerAgent({ id: 'a', capabilities: ['x'], handler: () => 'ok' });
    net.node('n0').state.store.write([
      {
        kind: 'task',
        key: 'bad-1',
        value: { id: 'bad-1', type: 'x', needs: 5, submittedAt: 0, submittedBy: 'evil' },
      },
      {
        kind: 'task',
        key: 'bad-2',
        value: {
          type: 'x',
          submittedAt: 'at dawn',
          idempotencyKey: 'k',
          priority: 0,
        },
      },
      {
        kind: 'agent',
        key: 'ghost',
        value: {
          id: 'ghost',
          node: 'evil',
          capabilities: 'x',
          capacity: 1,
          registeredAt: 0,
          retired: false,
          metadata: {},
        },
      },
      { kind: 'claim', key: 'bad-1|1|ghost', value: { task: 'bad-1', epoch: 'one' } },
    ]);
    const good = c.submit({ type: 'x' });
    await run(1000);
    expect(malformed.reduce((a, b) => a + b, 0)).toBe(4);
    expect(c.get('bad-1')).toBeNull();
    expect(c.agents().map((a) => a.id)).toEqual(['a']);
    expect(c.get(good)!.status).toBe('succeeded');
  });

  it('rejects bad input with typed errors naming the field', () => {
    const { coords } = mesh(1);
    const [c] = coords as [Coordinator];
    const field = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        expect(e).toBeInstanceOf(CoordinatorError);
        return (e as CoordinatorError).field;
      }
      return 'no error';
    };
    expect(field(() => c.submit({ type: '' }))).toBe('type');
    expect(field(() => c.submit({ type: 'x', priority: Number.NaN }))).toBe('priority');
    expect(field(() => c.submit({ type: 'x', input: (() => 1) as unknown as Value }))).toBe('input');
    expect(field(() => c.submit({ type: 'x', retry: { maxAttempts: 0 } }))).toBe('retry.maxAttempts');
    expect(field(() => c.submit({ type: 'x', timeouts: { runMs: -1 } }))).toBe('timeouts.runMs');
    expect(field(() => c.submit({ type: 'x', resources: { gpu: 0.5 } }))).toBe('resources.gpu');
    expect(
      field(() => c.registerAgent({ id: 'a', capabilities: ['x'], capacity: 0, handler: () => null })),
    ).toBe('capacity');
    expect(field(() => c.cancel('missing'))).toBe('id');
    expect(
      field(() => c.workflows.start({ name: 'w', params: ['p'], steps: [{ id: 's', type: 't' }] }, {})),
    ).toBe('params.p');
  });
});
