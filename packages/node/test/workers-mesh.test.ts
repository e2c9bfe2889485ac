import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  API_KEY,
  startDaemonProcess,
  tempDir,
  waitFor,
  type DaemonProcess,
} from './support/processes.ts';

const WORKER = fileURLToPath(new URL('./support/worker-process.ts', import.meta.url));
const TASKS = 1_000;

interface LogLine {
  at: number;
  agent: string;
  event: string;
  taskId?: string;
  epoch?: number;
  workerId?: string;
  code?: string;
  call?: string;
}
interface Task {
  id: string;
  status: string;
  epoch: number;
  attempts: number;
  agent: string | null;
  result: { n: number | null; by: string } | null;
  history: { epoch: number; agent: string; outcome: string }[];
}
interface WorkerProcess {
  agent: string;
  node: DaemonProcess;
  child: ChildProcess;
  log: string;
  exited: Promise<number | null>;
}

/**
 * Remote workers on a real 3-node mesh: nodes `a` and `b` each serve two worker processes
 * (@meshwork/worker), node `c` takes the submissions. 1,000 tasks each run exactly once; a
 * worker killed (SIGKILL) or paused (SIGSTOP) mid-task loses it to another worker after the
 * lease, and the paused one's late result is refused when it wakes.
 */
describe('pull workers on a mesh', () => {
  const dir = tempDir('workers-mesh');
  const holdDir = join(dir, 'hold');
  const nodes: DaemonProcess[] = [];
  const workers: WorkerProcess[] = [];
  let a: DaemonProcess;
  let b: DaemonProcess;
  let c: DaemonProcess;

  const config = (name: string, bootstrap: string[]) => ({
    name,
    bootstrap,
    drainTimeoutMs: 2_000,
    logLevel: 'warn',
  });
  const startWorker = (node: DaemonProcess, agent: string): WorkerProcess => {
    const log = join(dir, `${agent}.log`);
    const child = spawn(
      process.execPath,
      [
        WORKER,
        JSON.stringify({
          url: node.info.url,
          apiKey: API_KEY,
          agent: { id: agent, capabilities: ['bulk'], capacity: 8 },
          log,
          holdDir,
        }),
      ],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const w = { agent, node, child, log, exited };
    workers.push(w);
    return w;
  };
  const lines = (w: WorkerProcess): LogLine[] =>
    existsSync(w.log)
      ? readFileSync(w.log, 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as LogLine)
      : [];
  const starts = (taskId: string): LogLine[] =>
    workers.flatMap(lines).filter((l) => l.event === 'start' && l.taskId === taskId);
  const task = async (node: DaemonProcess, id: string) =>
    (await api<Task>(node.info.url, `/v1/tasks/${id}`)).body;

  beforeAll(async () => {
    mkdirSync(holdDir);
    a = await startDaemonProcess(dir, config('a', []));
    b = await startDaemonProcess(dir, config('b', a.info.multiaddrs));
    c = await startDaemonProcess(dir, config('c', [...a.info.multiaddrs, ...b.info.multiaddrs]));
    nodes.push(a, b, c);
    for (const d of nodes)
      await waitFor(`${d.info.node} to be ready`, 30_000, async () =>
        (await api(d.info.url, '/readyz')).status === 200 ? true : undefined,
      );
    for (const [node, agent] of [
      [a, 'a-1'],
      [a, 'a-2'],
      [b, 'b-1'],
      [b, 'b-2'],
    ] as const)
      startWorker(node, agent);
    // Every node sees the four workers' agents before anything is submitted.
    await waitFor('the workers to be live mesh-wide', 30_000, async () => {
      const agents = (await api<{ id: string; live: boolean }[]>(c.info.url, '/v1/agents')).body;
      return agents.filter((x) => x.live).length === 4 ? true : undefined;
    });
  }, 120_000);
  afterAll(() => {
    for (const w of workers) w.child.kill('SIGKILL');
    for (const d of nodes) d.child.kill('SIGKILL');
  });

  it(`runs ${TASKS} tasks submitted on another node, each exactly once, on four remote workers`, async () => {
    const started = Date.now();
    const ids = Array.from({ length: TASKS }, (_, i) => `bulk-${i}`);
    for (let i = 0; i < ids.length; i += 25) {
      await Promise.all(
        ids.slice(i, i + 25).map(async (id, j) => {
          const res = await api(c.info.url, '/v1/tasks', {
            body: { id, type: 'bulk', needs: ['bulk'], input: { n: i + j } },
          });
          expect(res.status).toBe(201);
        }),
      );
    }
    const submittedMs = Date.now() - started;
    await waitFor(`${TASKS} tasks to succeed`, 240_000, async () => {
      const all = (await api<{ items: Task[] }>(c.info.url, `/v1/tasks?limit=10000`)).body.items;
      const others = all.filter((t) => t.status !== 'succeeded');
      if (all.length === TASKS && others.length === 0) return true;
      // Said when the wait times out: which tasks did not succeed, and how they stand.
      throw new Error(
        `${all.length - others.length} of ${TASKS} succeeded; not yet: ${others
          .slice(0, 5)
          .map((t) => `${t.id} ${t.status} epoch ${t.epoch} on ${t.agent ?? 'no agent'}`)
          .join(', ')}`,
      );
    });
    const elapsedMs = Date.now() - started;

    // Exactly once, by the shared record: one attempt per task, at epoch 1, and its result.
    for (const [i, id] of ids.entries()) {
      const t = await task(c, id);
      expect({ id, status: t.status, epoch: t.epoch, attempts: t.attempts, n: t.result?.n }).toEqual({
        id,
        status: 'succeeded',
        epoch: 1,
        attempts: 1,
        n: i,
      });
      expect(t.history).toEqual([
        expect.objectContaining({ epoch: 1, agent: t.agent, outcome: 'succeeded' }),
      ]);
      expect(t.result?.by).toBe(t.agent);
    }
    // ... and by the workers' own logs: every task started once, nothing was refused.
    const all = workers.flatMap(lines);
    const startsPerTask = new Map<string, number>();
    for (const l of all)
      if (l.event === 'start') startsPerTask.set(l.taskId!, (startsPerTask.get(l.taskId!) ?? 0) + 1);
    expect(startsPerTask.size).toBe(TASKS);
    expect([...startsPerTask.values()].every((n) => n === 1)).toBe(true);
    expect(all.filter((l) => l.event === 'refused')).toEqual([]);
    const perWorker = Object.fromEntries(
      workers.map((w) => [w.agent, lines(w).filter((l) => l.event === 'start').length]),
    );
    for (const w of workers) expect(perWorker[w.agent]).toBeGreaterThan(0);
    console.log(
      `${TASKS} tasks: submitted in ${submittedMs} ms, all succeeded after ${elapsedMs} ms ` +
        `(${Math.round((TASKS * 1000) / elapsedMs)} tasks/s); per worker ${JSON.stringify(perWorker)}`,
    );
  }, 300_000);

  /** Submits a held task, waits for a worker to start it and returns that worker. */
  const holdOn = async (id: string, hold: string): Promise<{ holder: WorkerProcess; workerId: string }> => {
    const res = await api(c.info.url, '/v1/tasks', {
      body: {
        id,
        type: 'held',
        needs: ['bulk'],
        input: { hold },
        retry: { maxAttempts: 3, backoff: { initialMs: 60_000 } },
      },
    });
    expect(res.status).toBe(201);
    const first = await waitFor(`${id} to start`, 30_000, () => starts(id)[0]);
    expect(first.epoch).toBe(1);
    const holder = workers.find((w) => w.agent === first.agent)!;
    const workerId = lines(holder).findLast((l) => l.event === 'registered')!.workerId!;
    return { holder, workerId };
  };
  /** Waits for another worker to start `id` at epoch 2; returns the start and the time since `from`. */
  const takenOver = async (id: string, from: number) => {
    const second = await waitFor(`${id} to move to another worker`, 30_000, () =>
      starts(id).find((l) => l.epoch === 2),
    );
    return { second, failoverMs: second.at - from };
  };

  it('hands a killed worker’s task to another worker after its lease, and refuses the dead worker’s late result', async () => {
    const { holder, workerId } = await holdOn('killed-1', 'k1');
    const killedAt = Date.now();
    holder.child.kill('SIGKILL');
    await holder.exited;
    const { second, failoverMs } = await takenOver('killed-1', killedAt);
    expect(second.agent).not.toBe(holder.agent);
    console.log(`SIGKILLed worker: task restarted on ${second.agent} ${failoverMs} ms after the kill`);
    writeFileSync(join(holdDir, 'k1'), '');
    const done = await waitFor('killed-1 to succeed', 30_000, async () => {
      const t = await task(c, 'killed-1');
      return t.status === 'succeeded' ? t : undefined;
    });
    expect(done).toMatchObject({ epoch: 2, agent: second.agent, result: { by: second.agent } });
    // The dead worker's result, had it sent one, changes nothing.
    const late = await api<{ error: { code: string } }>(
      holder.node.info.url,
      `/v1/workers/${workerId}/tasks/killed-1/complete`,
      { body: { epoch: 1, result: { by: holder.agent } } },
    );
    expect(late).toMatchObject({ status: 409, body: { error: { code: 'stale_attempt' } } });
    const beat = await api<{ error: { code: string } }>(
      holder.node.info.url,
      `/v1/workers/${workerId}/heartbeat`,
      {
        body: {},
      },
    );
    expect(beat).toMatchObject({ status: 409, body: { error: { code: 'worker_expired' } } });
    expect(await task(c, 'killed-1')).toMatchObject({ status: 'succeeded', result: { by: second.agent } });
    const history = await waitFor('the archive to show the handover', 10_000, async () => {
      const rows = (await api<Task['history']>(c.info.url, '/v1/tasks/killed-1/history')).body;
      return rows.length === 2 && rows[1]!.outcome === 'succeeded' ? rows : undefined;
    });
    expect(history).toMatchObject([
      { epoch: 1, agent: holder.agent, outcome: 'released' },
      { epoch: 2, agent: second.agent, outcome: 'succeeded' },
    ]);
  });

  it('hands a paused worker’s task on; when it wakes, its late result is refused and it registers again', async () => {
    const { holder, workerId } = await holdOn('paused-1', 'p1');
    const pausedAt = Date.now();
    holder.child.kill('SIGSTOP');
    try {
      const { second, failoverMs } = await takenOver('paused-1', pausedAt);
      expect(second.agent).not.toBe(holder.agent);
      console.log(`SIGSTOPped worker: task restarted on ${second.agent} ${failoverMs} ms after the pause`);
      writeFileSync(join(holdDir, 'p1'), '');
      await waitFor('paused-1 to succeed', 30_000, async () =>
        (await task(c, 'paused-1')).status === 'succeeded' ? true : undefined,
      );
    } finally {
      holder.child.kill('SIGCONT');
    }
    // Awake, its handler finishes and reports: refused, as stale.
    const refused = await waitFor('the late result to be refused', 30_000, () =>
      lines(holder).find((l) => l.event === 'refused' && l.taskId === 'paused-1'),
    );
    expect(refused).toMatchObject({ epoch: 1, call: 'complete', code: 'stale_attempt' });
    const again = await waitFor('the paused worker to register again', 30_000, () =>
      lines(holder).find((l) => l.event === 'registered' && l.workerId !== workerId),
    );
    expect(again.workerId).toMatch(/^w-/);
    const t = await task(c, 'paused-1');
    expect(t).toMatchObject({ status: 'succeeded', epoch: 2 });
    expect(t.result?.by).not.toBe(holder.agent);
    // Back at work: it takes a new task like the others.
    const extra = Array.from({ length: 40 }, (_, i) => `after-${i}`);
    for (const id of extra)
      expect(
        (await api(c.info.url, '/v1/tasks', { body: { id, needs: ['bulk'], input: { n: 0 } } })).status,
      ).toBe(201);
    await waitFor('the tasks after the pause', 60_000, async () => {
      const done = await Promise.all(extra.map((id) => task(c, id)));
      return done.every((x) => x.status === 'succeeded') ? true : undefined;
    });
  });

  it('workers stopped with SIGTERM unregister: their agents retire and the nodes list none', async () => {
    const alive = workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
    expect(alive.length).toBe(3);
    for (const w of alive) w.child.kill('SIGTERM');
    expect(await Promise.all(alive.map((w) => w.exited))).toEqual(alive.map(() => 0));
    for (const node of [a, b]) expect((await api<unknown[]>(node.info.url, '/v1/workers')).body).toEqual([]);
    const agents = await waitFor('the agents to retire mesh-wide', 10_000, async () => {
      const list = (await api<{ id: string; retired: boolean }[]>(c.info.url, '/v1/agents')).body;
      return alive.every((w) => list.find((x) => x.id === w.agent)?.retired === true) ? list : undefined;
    });
    expect(agents.length).toBeGreaterThanOrEqual(4);
  });
});
