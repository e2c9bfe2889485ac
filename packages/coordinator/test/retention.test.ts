import { describe, expect, it } from 'vitest';
import {
  CoordinatorError,
  PermanentTaskError,
  type Coordinator,
  type CoordinatorEvent,
  type CoordinatorOptions,
  type WorkflowTemplate,
} from '../src/index.ts';
import { recordKinds } from '../src/store.ts';
import { virtualMesh } from './fixtures.ts';

type Backend = 'memory' | 'document';
type Removed = CoordinatorEvent<'removed'>;

/**
 * Every record kind that belongs to a task (agents and workflow runs are not removed with tasks,
 * and receipts are kept per pair of nodes, not per task).
 */
const taskKinds = recordKinds.filter((k) => k !== 'agent' && k !== 'workflow' && k !== 'receipt');

/** A mesh on virtual time whose coordinators record the 'removed' events they emit. */
function mesh(nodes: number, backend: Backend, extra: Partial<CoordinatorOptions> = {}) {
  const { sched, net, coords } = virtualMesh({ nodes, backend, seed: 11, coordinator: extra });
  /** The 'removed' events each node emitted, by node index. */
  const removed: Removed[][] = coords.map((c) => {
    const mine: Removed[] = [];
    c.events.on('removed', (e) => mine.push(e));
    return mine;
  });
  /** Resolves after `ms` of node `i`'s time. */
  const sleep = (i: number, ms: number) =>
    new Promise<void>((resolve) => net.node(`n${i}`).clock.setTimer(resolve, ms));
  /** Keys of every task record node `i` holds, as `kind:key`. */
  const held = (i: number): string[] =>
    taskKinds.flatMap((kind) =>
      [...net.node(`n${i}`).state.store.entries(kind)].map(([k]) => `${kind}:${k}`),
    );
  const removedTasks = (i: number): string[] => removed[i]!.flatMap((e) => e.tasks);
  return {
    net,
    coords,
    removed,
    held,
    removedTasks,
    sleep,
    now: () => sched.now(),
    run: (ms: number) => sched.run(sched.now() + ms),
  };
}

const backends: readonly Backend[] = ['memory', 'document'];

describe.each(backends)('retention of finished tasks (%s backend)', (backend) => {
  it('keeps a finished task for finishedMs, then its runner alone removes all its records everywhere', async () => {
    const finishedMs = 2000;
    const m = mesh(3, backend, { retention: { finishedMs } });
    const ran: number[] = [];
    m.coords.forEach((c, i) =>
      c.registerAgent({
        id: `agent-${i}`,
        capabilities: ['work'],
        handler: (_task, ctx) => {
          ran.push(i);
          ctx.progress({ step: 1 });
          return 'done';
        },
      }),
    );
    const gone = m.coords.map(() => [] as string[]);
    m.coords.forEach((c, i) => c.events.on('gone', (e) => void gone[i]!.push(e.task)));
    await m.run(500);
    const id = m.coords[0]!.submit({ type: 'work' });
    await m.run(1000);
    expect(ran).toHaveLength(1);
    for (const c of m.coords) expect(c.get(id)).toMatchObject({ status: 'succeeded', progress: { step: 1 } });
    for (let i = 0; i < 3; i++) {
      const held = m.held(i);
      // No start record: the attempt ended before the next pass, so its end stands for it.
      for (const kind of ['task', 'claim', 'end', 'progress'])
        expect(held.some((k) => k.startsWith(`${kind}:${id}`))).toBe(true);
    }

    // Finished about 1 s ago: still there everywhere.
    await m.run(500);
    for (const c of m.coords) expect(c.get(id)).not.toBeNull();
    expect(m.removed.flat()).toEqual([]);

    // Past finishedMs (plus a sweep period), though short of the 2× other replicas wait.
    await m.run(1500);
    for (let i = 0; i < 3; i++) {
      expect(m.coords[i]!.get(id)).toBeNull();
      expect(m.coords[i]!.list()).toEqual([]);
      expect(m.held(i)).toEqual([]);
      // Agents are not task records: they stay.
      expect([...m.net.node(`n${i}`).state.store.entries('agent')]).toHaveLength(3);
    }
    expect(() => m.coords[0]!.cancel(id)).toThrow(CoordinatorError);

    // Only the replica that ran it removed it, once, and nobody steps in later.
    await m.run(5000);
    const runner = ran[0]!;
    m.removed.forEach((events, i) => expect(events.map((e) => e.tasks)).toEqual(i === runner ? [[id]] : []));
    expect(m.removed[runner]![0]).toMatchObject({ run: null });
    // Every replica saw it go, once.
    expect(gone).toEqual([[id], [id], [id]]);
  });

  it('leaves a cancelled task to its canceller to remove', async () => {
    const finishedMs = 1000;
    const m = mesh(2, backend, { retention: { finishedMs } });
    // Nobody can run it: it stays pending until cancelled from the other node.
    const id = m.coords[0]!.submit({ type: 'nobody-can' });
    await m.run(500);
    m.coords[1]!.cancel(id, 'not needed');
    await m.run(500);
    for (const c of m.coords) expect(c.get(id)).toMatchObject({ status: 'cancelled' });
    await m.run(1600);
    for (let i = 0; i < 2; i++) expect(m.held(i)).toEqual([]);
    expect(m.removedTasks(0)).toEqual([]);
    expect(m.removedTasks(1)).toEqual([id]);
  });

  it('past maxFinished removes the oldest finished tasks first, whatever their age', async () => {
    // Node n1 runs nothing; it only watches, and holds at most 2 × maxFinished, so it never steps in.
    const m = mesh(2, backend, { retention: { finishedMs: 600_000, maxFinished: 2 } });
    m.coords[0]!.registerAgent({ id: 'a', capabilities: ['work'], handler: () => 'ok' });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(m.coords[0]!.submit({ id: `job-${i}`, type: 'work' }));
      await m.run(1000);
    }
    await m.run(2000);
    for (let i = 0; i < 2; i++) {
      expect(
        m.coords[i]!.list()
          .map((t) => t.id)
          .sort(),
      ).toEqual(ids.slice(3));
      for (const id of ids.slice(3)) expect(m.coords[i]!.get(id)!.status).toBe('succeeded');
    }
    expect(m.removedTasks(0)).toEqual(ids.slice(0, 3));
    expect(m.removedTasks(1)).toEqual([]);
  });

  it('keeps a finished task while a task depends on it, then both go after finishedMs', async () => {
    const finishedMs = 1000;
    const m = mesh(1, backend, { retention: { finishedMs } });
    const [c] = m.coords as [Coordinator];
    c.registerAgent({
      id: 'a',
      capabilities: ['quick', 'slow'],
      capacity: 2,
      handler: async (task) => {
        if (task.spec.type === 'slow') await m.sleep(0, 3 * finishedMs);
        return task.id;
      },
    });
    const first = c.submit({ id: 'first', type: 'quick' });
    const second = c.submit({ id: 'second', type: 'slow', dependsOn: ['first'] });
    await m.run(500);
    expect(c.get(first)!.status).toBe('succeeded');
    expect(c.get(second)!.status).toBe('running');
    // 'first' has been finished for more than 2 × finishedMs, but 'second' still needs it.
    await m.run(2 * finishedMs + 300);
    expect(c.get(first)!.status).toBe('succeeded');
    expect(c.get(second)!.status).toBe('running');
    await m.run(finishedMs);
    expect(c.get(second)!.status).toBe('succeeded');
    expect(c.get(first)).not.toBeNull();
    await m.run(finishedMs + 600);
    expect(c.get(first)).toBeNull();
    expect(c.get(second)).toBeNull();
    expect(m.held(0)).toEqual([]);
    expect(m.removedTasks(0).sort()).toEqual([first, second]);
  });

  it('keeps a task while a finished dependent is held, so the dependent keeps its derived status', async () => {
    const m = mesh(1, backend, { retention: { finishedMs: 600_000, maxFinished: 1 } });
    const [c] = m.coords as [Coordinator];
    c.registerAgent({
      id: 'a',
      capabilities: ['bad'],
      handler: () => {
        throw new PermanentTaskError('no');
      },
    });
    const seen: string[] = [];
    c.watch((t) => seen.push(`${t.id}:${t.status}`));
    c.submit({ id: 'dep', type: 'bad' });
    c.submit({ id: 'child', type: 'bad', dependsOn: ['dep'] });
    await m.run(3000);
    // Past maxFinished the oldest goes first, but 'dep' must outlive 'child', whose failure is derived from it.
    expect(c.get('child')).toBeNull();
    expect(c.get('dep')!.status).toBe('failed');
    expect(seen.slice(seen.indexOf('child:failed'))).not.toContain('child:pending');
    expect(m.removedTasks(0)).toEqual(['child']);
  });

  it('keeps a cancelled task while its attempt still runs on this replica', async () => {
    const finishedMs = 1000;
    const m = mesh(1, backend, { retention: { finishedMs } });
    const [c] = m.coords as [Coordinator];
    c.registerAgent({
      id: 'a',
      capabilities: ['stubborn'],
      // Ignores the abort signal and only gives up much later.
      handler: async () => {
        await m.sleep(0, 4 * finishedMs);
        throw new PermanentTaskError('gave up');
      },
    });
    const id = c.submit({ type: 'stubborn' });
    await m.run(300);
    expect(c.get(id)!.status).toBe('running');
    c.cancel(id);
    await m.run(3 * finishedMs);
    expect(c.get(id)!.status).toBe('cancelled');
    await m.run(2 * finishedMs);
    expect(c.get(id)).toBeNull();
    expect(m.held(0)).toEqual([]);
    expect(m.removedTasks(0)).toEqual([id]);
  });

  it('removes a workflow run with all its tasks in one removal once the run is over', async () => {
    const finishedMs = 1000;
    const m = mesh(2, backend, { retention: { finishedMs } });
    m.coords.forEach((c, i) =>
      c.registerAgent({
        id: `w${i}`,
        capabilities: ['step'],
        handler: (_t, ctx) => ((ctx.input as { n?: number }).n ?? 0) + 1,
      }),
    );
    const template: WorkflowTemplate = {
      name: 'count',
      params: ['start'],
      steps: [
        { id: 'a', type: 'step', input: { n: 'params.start' } },
        { id: 'b', type: 'step', input: { n: 'steps.a.result' } },
      ],
    };
    const run = m.coords[0]!.workflows.start(template, { start: 1 });
    await m.run(800);
    const tasks = [...m.coords[0]!.workflows.get(run)!.tasks];
    expect(tasks).toHaveLength(2);
    for (const c of m.coords) expect(c.workflows.get(run)!.status).toBe('succeeded');
    await m.run(finishedMs + 800);
    for (let i = 0; i < 2; i++) {
      const c = m.coords[i]!;
      expect(c.workflows.get(run)).toBeNull();
      expect(c.workflows.list()).toEqual([]);
      for (const t of tasks) expect(c.get(t)).toBeNull();
      expect(m.held(i)).toEqual([]);
      expect([...m.net.node(`n${i}`).state.store.entries('workflow')]).toEqual([]);
    }
    // The replica that started the run removed it, as one removal; it is not planned again.
    await m.run(4 * finishedMs);
    expect(m.removed[0]!.map((e) => ({ run: e.run, tasks: [...e.tasks].sort() }))).toEqual([
      { run, tasks: [...tasks].sort() },
    ]);
    expect(m.removed[1]).toEqual([]);
    for (let i = 0; i < 2; i++) expect(m.held(i)).toEqual([]);
  });

  it('never removes the finished tasks of a run that is still going', async () => {
    const finishedMs = 1000;
    const m = mesh(1, backend, { retention: { finishedMs } });
    const [c] = m.coords as [Coordinator];
    c.registerAgent({
      id: 'a',
      capabilities: ['fast', 'slow'],
      handler: async (task) => {
        if (task.spec.type === 'slow') await m.sleep(0, 4 * finishedMs);
        return 1;
      },
    });
    const run = c.workflows.start({
      name: 'two',
      steps: [
        { id: 'a', type: 'fast' },
        { id: 'b', type: 'slow', after: ['a'] },
      ],
    });
    await m.run(500);
    const [a, b] = c.workflows.get(run)!.tasks as [string, string];
    expect(c.get(a)!.status).toBe('succeeded');
    expect(c.get(b)!.status).toBe('running');
    // 'a' finished more than 3 × finishedMs ago, but its run is not over.
    await m.run(3 * finishedMs + 200);
    expect(c.workflows.get(run)!.status).toBe('running');
    expect(c.get(a)!.status).toBe('succeeded');
    expect(m.removed[0]).toEqual([]);
    await m.run(finishedMs);
    expect(c.workflows.get(run)!.status).toBe('succeeded');
    await m.run(finishedMs + 600);
    expect(c.workflows.get(run)).toBeNull();
    expect(c.get(a)).toBeNull();
    expect(c.get(b)).toBeNull();
    expect(m.removed[0]!.map((e) => e.run)).toEqual([run]);
  });

  it('lets another replica remove the task after twice finishedMs when the remover is gone', async () => {
    const finishedMs = 1000;
    const m = mesh(2, backend, { retention: { finishedMs } });
    m.coords[1]!.registerAgent({ id: 'only', capabilities: ['work'], handler: () => 'ok' });
    await m.run(500);
    const id = m.coords[0]!.submit({ type: 'work' });
    await m.run(200);
    expect(m.coords[0]!.get(id)!.status).toBe('succeeded');
    m.net.crash('n1');
    // Past finishedMs plus two sweep periods: the remover would have removed it by now.
    await m.run(finishedMs + 600);
    expect(m.coords[0]!.get(id)).not.toBeNull();
    expect(m.removed[0]).toEqual([]);
    await m.run(finishedMs);
    expect(m.coords[0]!.get(id)).toBeNull();
    expect(m.held(0)).toEqual([]);
    expect(m.removedTasks(0)).toEqual([id]);
  });

  it('removes records whose task is unknown after finishedMs', async () => {
    const finishedMs = 1000;
    const m = mesh(2, backend, { retention: { finishedMs } });
    m.coords[0]!.registerAgent({ id: 'a', capabilities: ['work'], handler: () => 'ok' });
    await m.run(300);
    m.net.node('n0').state.store.write([
      {
        kind: 'claim',
        key: 'ghost|1|a',
        value: { task: 'ghost', epoch: 1, agent: 'a', node: 'n0', at: 0, score: 1, settleMs: 10 },
      },
    ]);
    await m.run(finishedMs - 200);
    for (let i = 0; i < 2; i++) expect(m.held(i)).toEqual(['claim:ghost|1|a']);
    // A task that is open meanwhile is not touched.
    const live = m.coords[0]!.submit({ type: 'nobody-can' });
    await m.run(1000);
    for (let i = 0; i < 2; i++) {
      expect(m.held(i)).toEqual([`task:${live}`]);
      expect(m.coords[i]!.get('ghost')).toBeNull();
      expect(m.coords[i]!.get(live)!.status).toBe('pending');
    }
  });
});

describe('retention options', () => {
  const field = (retention: Record<string, number>): string => {
    try {
      virtualMesh({ nodes: 1, backend: 'memory', seed: 1, coordinator: { retention } });
    } catch (e) {
      expect(e).toBeInstanceOf(CoordinatorError);
      expect((e as CoordinatorError).code).toBe('invalid_input');
      return (e as CoordinatorError).field ?? 'no field';
    }
    return 'no error';
  };

  it('rejects negative or fractional limits, naming the field', () => {
    expect(field({ finishedMs: -1 })).toBe('retention.finishedMs');
    expect(field({ finishedMs: 1.5 })).toBe('retention.finishedMs');
    expect(field({ finishedMs: Number.NaN })).toBe('retention.finishedMs');
    expect(field({ finishedMs: Number.POSITIVE_INFINITY })).toBe('retention.finishedMs');
    expect(field({ maxFinished: -1 })).toBe('retention.maxFinished');
    expect(field({ maxFinished: 2.5 })).toBe('retention.maxFinished');
    expect(field({ finishedMs: 1000, maxFinished: -3 })).toBe('retention.maxFinished');
  });

  it('accepts zero and partial options', () => {
    expect(field({ finishedMs: 0 })).toBe('no error');
    expect(field({ maxFinished: 0 })).toBe('no error');
    expect(field({})).toBe('no error');
  });
});
