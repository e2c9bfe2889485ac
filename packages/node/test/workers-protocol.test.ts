import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.ts';
import { startDaemon, type Daemon } from '../src/daemon.ts';
import { WorkerError } from '../src/workers/errors.ts';
import { createWorker, PermanentError, type WorkerEvent } from '@meshwork/worker';
import { api, API_KEY, tempDir, waitFor } from './support/processes.ts';

const PLAIN_WORKER = fileURLToPath(new URL('./support/plain-worker.ts', import.meta.url));

interface ErrorBody {
  error: { code: string; message: string; field?: string };
}
interface Session {
  workerId: string;
  agentId: string;
  capabilities: string[];
  capacity: number;
  leaseMs: number;
  heartbeatMs: number;
}
interface Assignment {
  taskId: string;
  epoch: number;
  attempt: number;
  idempotencyKey: string;
  type: string;
  input: unknown;
  deadline: number | null;
  timeouts: { scheduleToStartMs: number | null; runMs: number | null };
}
interface Task {
  id: string;
  type: string;
  status: string;
  epoch: number;
  attempts: number;
  agent: string | null;
  needs: string[];
  result: unknown;
  error: string | null;
  progress: unknown;
  history: { epoch: number; agent: string; outcome: string }[];
}

/** The pull protocol on one real daemon: a plain-fetch worker, refusals, expiry, cancel, unregister. */
describe('pull workers', () => {
  let daemon: Daemon;
  let url = '';
  const dir = tempDir('workers');
  const leaseMs = 1_000;
  beforeAll(async () => {
    daemon = await startDaemon(
      parseConfig(
        {
          name: 'pull-node',
          dataDir: join(dir, 'data'),
          apiKey: API_KEY,
          http: { port: 0, maxBodyBytes: 64 * 1024 },
          logLevel: 'silent',
          workers: { leaseMs, maxWaitMs: 3_000, maxWorkers: 8, maxResultBytes: 2_048 },
          // An executor agent that must never take a worker's task.
          agents: [{ id: 'shell-agent', capabilities: ['math', 'jobs'], executors: { shell: {} } }],
        },
        dir,
      ),
    );
    url = daemon.url;
  });
  afterAll(() => daemon.stop());

  const post = <T>(path: string, body: unknown, key: string | null = API_KEY) =>
    api<T>(url, path, { method: 'POST', body, key });
  /** Heartbeats of the registered workers, as a real worker sends them. */
  const beats = new Map<string, NodeJS.Timeout>();
  afterAll(() => beats.forEach(clearInterval));
  const register = async (
    id: string,
    extra: Record<string, unknown> = {},
    { heartbeat = true } = {},
  ): Promise<Session> => {
    const res = await post<Session>('/v1/workers', { id, capabilities: ['jobs'], ...extra });
    expect(res.status).toBe(201);
    const s = res.body;
    if (heartbeat)
      beats.set(
        s.workerId,
        setInterval(() => void post(`/v1/workers/${s.workerId}/heartbeat`, {}), s.heartbeatMs),
      );
    return s;
  };
  const poll = async (s: Session, body: Record<string, unknown> = { waitMs: 3_000 }) => {
    const res = await post<{ tasks: Assignment[] }>(`/v1/workers/${s.workerId}/poll`, body);
    expect(res.status).toBe(200);
    return res.body.tasks;
  };
  const report = <T = ErrorBody>(s: Session, taskId: string, verb: string, body: unknown) =>
    post<T>(`/v1/workers/${s.workerId}/tasks/${taskId}/${verb}`, body);
  const task = async (id: string) => (await api<Task>(url, `/v1/tasks/${id}`)).body;
  const submit = async (body: Record<string, unknown>) => {
    const res = await post<Task>('/v1/tasks', body);
    expect(res.status).toBe(201);
    return res.body;
  };
  const unregister = (s: Session) => {
    clearInterval(beats.get(s.workerId));
    return api(url, `/v1/workers/${s.workerId}`, { method: 'DELETE' });
  };

  it('serves a worker written with plain fetch: progress, results, retryable and permanent failures, unregistration', async () => {
    const log = join(dir, 'plain.log');
    const child = spawn(process.execPath, [PLAIN_WORKER, url, API_KEY, 'plain', log], { stdio: 'inherit' });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      await waitFor('the plain worker to register', 20_000, async () =>
        (await api<{ agentId: string }[]>(url, '/v1/workers')).body.some((w) => w.agentId === 'plain')
          ? true
          : undefined,
      );
      const sum = await submit({ id: 'sum-1', type: 'sum', needs: ['math'], input: { a: 2, b: 3 } });
      // An input that names no executor is a pull worker's: the node adds the capability.
      expect(sum.needs.sort()).toEqual(['executor:worker', 'math']);
      await submit({
        id: 'flaky-1',
        type: 'flaky',
        needs: ['math'],
        input: [1, 2, 3],
        retry: { maxAttempts: 3, backoff: { initialMs: 50 } },
      });
      await submit({ id: 'broken-1', type: 'broken', needs: ['math'], input: 'x' });
      const settled = async (id: string) =>
        waitFor(`${id} to settle`, 30_000, async () => {
          const t = await task(id);
          return ['succeeded', 'failed'].includes(t.status) ? t : undefined;
        });
      expect(await settled('sum-1')).toMatchObject({
        status: 'succeeded',
        agent: 'plain',
        result: { sum: 5 },
        progress: { step: 'adding' },
        history: [{ epoch: 1, agent: 'plain', outcome: 'succeeded' }],
      });
      expect(await settled('flaky-1')).toMatchObject({
        status: 'succeeded',
        result: 'ok',
        history: [
          { epoch: 1, agent: 'plain', outcome: 'failed' },
          { epoch: 2, agent: 'plain', outcome: 'succeeded' },
        ],
      });
      const broken = await settled('broken-1');
      expect(broken).toMatchObject({ status: 'failed', attempts: 1 });
      expect(broken.error).toContain('cannot be done');
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    const lines = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { call: string; status: number });
    expect(lines.filter((l) => l.call === 'report').map((l) => l.status)).toEqual([200, 200, 200, 200]);
    expect(lines.at(-1)).toMatchObject({ call: 'unregister', status: 200 });
    expect((await api<unknown[]>(url, '/v1/workers')).body).toEqual([]);
    const agents = (await api<{ id: string; retired: boolean }[]>(url, '/v1/agents')).body;
    expect(agents.find((a) => a.id === 'plain')).toMatchObject({ retired: true });
  });

  it('refuses bad registrations naming the field, and needs the API key', async () => {
    const cases: [unknown, string, string][] = [
      [{}, 'id', 'invalid_request'],
      [{ id: 'has space' }, 'id', 'invalid_request'],
      [{ id: 'a', capacity: 0 }, 'capacity', 'invalid_request'],
      [{ id: 'a', capacity: 1.5 }, 'capacity', 'invalid_request'],
      [{ id: 'a', capabilities: ['bad cap'] }, 'capabilities.0', 'invalid_request'],
      [{ id: 'a', colour: 'red' }, 'colour', 'invalid_request'],
      [{ id: 'a', metadata: { deep: nested(200) } }, 'metadata', 'limit_exceeded'],
    ];
    for (const [body, field, code] of cases) {
      const res = await post<ErrorBody>('/v1/workers', body);
      expect({ body, status: res.status, code: res.body.error.code, field: res.body.error.field }).toEqual({
        body,
        status: 400,
        code,
        field,
      });
    }
    expect((await post<ErrorBody>('/v1/workers', { id: 'a' }, null)).status).toBe(401);
    expect((await post<ErrorBody>('/v1/workers', { id: 'a' }, 'wrong-key-0123456789')).status).toBe(401);
    // A config agent's id, or one a live worker holds, is taken.
    const taken = await post<ErrorBody>('/v1/workers', { id: 'shell-agent' });
    expect(taken).toMatchObject({ status: 409, body: { error: { code: 'agent_exists', field: 'id' } } });
    const first = await register('twice');
    const again = await post<ErrorBody>('/v1/workers', { id: 'twice' });
    expect(again).toMatchObject({ status: 409, body: { error: { code: 'agent_exists', field: 'id' } } });
    await unregister(first);
    expect((await api<unknown[]>(url, '/v1/workers')).body).toEqual([]);
  });

  it('refuses reports from unknown workers, about tasks held by others or stale epochs, and oversized results; a refusal changes nothing', async () => {
    const holder = await register('holder');
    const other = await register('other');
    expect(holder).toMatchObject({
      agentId: 'holder',
      capabilities: ['executor:worker', 'jobs'],
      capacity: 1,
      leaseMs,
      heartbeatMs: leaseMs / 4,
    });
    // Both poll; the one the task goes to is the holder from then on.
    const submitted = await submit({ id: 'job-1', type: 'job', needs: ['jobs'], input: { n: 1 } });
    expect(submitted.type).toBe('job');
    const [a, b] = await Promise.all([poll(holder), poll(other)]);
    const [owner, bystander] = a.length > 0 ? [holder, other] : [other, holder];
    const [job] = a.length > 0 ? a : b;
    expect(job).toMatchObject({ taskId: 'job-1', epoch: 1, attempt: 1, type: 'job', input: { n: 1 } });
    expect(typeof job!.idempotencyKey).toBe('string');

    const refusals: [() => Promise<{ status: number; body: ErrorBody }>, number, string, string][] = [
      [() => post('/v1/workers/w-nope/heartbeat', {}), 404, 'unknown_worker', 'workerId'],
      [() => post('/v1/workers/w-nope/poll', {}), 404, 'unknown_worker', 'workerId'],
      [
        () => report({ ...owner, workerId: 'w-nope' }, 'job-1', 'complete', { epoch: 1 }),
        404,
        'unknown_worker',
        'workerId',
      ],
      [() => report(owner, 'job-1', 'complete', { epoch: 2, result: 1 }), 409, 'stale_attempt', 'epoch'],
      [() => report(owner, 'job-1', 'progress', { epoch: 7, data: 1 }), 409, 'stale_attempt', 'epoch'],
      [() => report(bystander, 'job-1', 'complete', { epoch: 1, result: 1 }), 409, 'not_held', 'taskId'],
      [() => report(bystander, 'job-1', 'fail', { epoch: 1, message: 'x' }), 409, 'not_held', 'taskId'],
      [() => report(owner, 'no-such-task', 'complete', { epoch: 1 }), 409, 'not_held', 'taskId'],
      [
        () => report(owner, 'job-1', 'complete', { epoch: 1, result: 'x'.repeat(4_000) }),
        400,
        'limit_exceeded',
        'result',
      ],
      [
        () => report(owner, 'job-1', 'complete', { epoch: 1, result: nested(200) }),
        400,
        'limit_exceeded',
        'result',
      ],
      [
        () => report(owner, 'job-1', 'progress', { epoch: 1, data: 'x'.repeat(4_000) }),
        400,
        'limit_exceeded',
        'data',
      ],
      [() => report(owner, 'job-1', 'complete', { epoch: 'one' }), 400, 'invalid_request', 'epoch'],
      [() => report(owner, 'job-1', 'complete', { result: 1 }), 400, 'invalid_request', 'epoch'],
      [() => report(owner, 'job-1', 'complete', { epoch: 0 }), 400, 'invalid_request', 'epoch'],
      [() => report(owner, 'job-1', 'complete', { epoch: 1, extra: true }), 400, 'invalid_request', 'extra'],
      [() => report(owner, 'job-1', 'fail', { epoch: 1 }), 400, 'invalid_request', 'message'],
      [
        () => report(owner, 'job-1', 'fail', { epoch: 1, message: 'x', retryable: 'no' }),
        400,
        'invalid_request',
        'retryable',
      ],
      [
        () => report(owner, 'job-1', 'fail', { epoch: 1, message: 'x'.repeat(5_000) }),
        400,
        'invalid_request',
        'message',
      ],
      [() => post(`/v1/workers/${owner.workerId}/poll`, { waitMs: -1 }), 400, 'invalid_request', 'waitMs'],
      [() => post(`/v1/workers/${owner.workerId}/poll`, { max: 0 }), 400, 'invalid_request', 'max'],
      [() => post(`/v1/workers/${owner.workerId}/heartbeat`, { tasks: [] }), 400, 'invalid_request', 'tasks'],
    ];
    for (const [send, status, code, field] of refusals) {
      const res = await send();
      expect({ status: res.status, code: res.body.error.code, field: res.body.error.field }).toEqual({
        status,
        code,
        field,
      });
      expect(res.body.error.message).not.toBe('');
    }
    const raw = await fetch(`${url}/v1/workers/${owner.workerId}/tasks/job-1/complete`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: '{"epoch": 1,',
    });
    expect(raw.status).toBe(400);
    expect(((await raw.json()) as ErrorBody).error.code).toBe('invalid_json');
    const huge = await report(owner, 'job-1', 'complete', { epoch: 1, result: 'x'.repeat(70_000) });
    expect(huge).toMatchObject({ status: 413, body: { error: { code: 'body_too_large' } } });

    // Nothing changed: the task runs at epoch 1 with its owner, which can still finish it.
    expect(await task('job-1')).toMatchObject({
      status: 'running',
      epoch: 1,
      agent: owner.agentId,
      progress: null,
    });
    const done = await report<{ outcome: string }>(owner, 'job-1', 'complete', {
      epoch: 1,
      result: { ok: true },
    });
    expect(done).toEqual({ status: 200, body: { taskId: 'job-1', epoch: 1, outcome: 'succeeded' } });
    // The same verdict again (its answer was lost) gets the same answer; a different one is stale.
    expect(await report(owner, 'job-1', 'complete', { epoch: 1, result: { ok: true } })).toEqual(done);
    const late = await report(owner, 'job-1', 'fail', { epoch: 1, message: 'no' });
    expect(late).toMatchObject({ status: 409, body: { error: { code: 'stale_attempt', field: 'epoch' } } });
    const settled = await waitFor('job-1 to succeed', 10_000, async () => {
      const t = await task('job-1');
      return t.status === 'succeeded' ? t : undefined;
    });
    expect(settled).toMatchObject({ result: { ok: true }, history: [{ epoch: 1, outcome: 'succeeded' }] });
    await Promise.all([unregister(owner), unregister(bystander)]);
  });

  it('bounds polls per worker and workers per node', async () => {
    const s = await register('single');
    const open = post(`/v1/workers/${s.workerId}/poll`, { waitMs: 1_000 });
    const second = await post<ErrorBody>(`/v1/workers/${s.workerId}/poll`, { waitMs: 1_000 });
    expect(second).toMatchObject({ status: 429, body: { error: { code: 'too_many_polls' } } });
    expect((await open).body).toEqual({ tasks: [] });
    const many = [s];
    for (let i = 1; i < 8; i++) many.push(await register(`many-${i}`));
    const over = await post<ErrorBody>('/v1/workers', { id: 'one-too-many' });
    expect(over).toMatchObject({ status: 429, body: { error: { code: 'too_many_workers' } } });
    await Promise.all(many.map(unregister));
  });

  it('a worker that stops calling expires: its task goes to another worker at once, and its late reports are refused', async () => {
    const silent = await register('silent', { capabilities: ['slow'] }, { heartbeat: false });
    const id = 'slow-1';
    await submit({
      id,
      type: 'slow',
      needs: ['slow'],
      input: null,
      retry: { maxAttempts: 3, backoff: { initialMs: 60_000 } },
    });
    const [held] = await poll(silent);
    expect(held).toMatchObject({ taskId: id, epoch: 1 });
    await report(silent, id, 'progress', { epoch: 1, data: { half: true } });
    const lastCall = Date.now();
    // The silent worker makes no more calls; a second one waits for work.
    const standby = await register('standby', { capabilities: ['slow'] });
    const takeover = await waitFor(
      'the standby worker to get the task',
      20_000,
      async () => (await poll(standby))[0],
    );
    console.log(
      `worker failover: ${Date.now() - lastCall} ms from the silent worker's last call (lease ${leaseMs} ms)`,
    );
    // A backoff of 60 s would show if the handover counted as a failure: it does not.
    expect(takeover).toMatchObject({ taskId: id, epoch: 2, attempt: 2 });
    const stale = await report(silent, id, 'complete', { epoch: 1, result: 'late' });
    expect(stale).toMatchObject({
      status: 409,
      body: { error: { code: 'stale_attempt', field: 'workerId' } },
    });
    expect(stale.body.error.message).toContain('expired');
    const lateProgress = await report(silent, id, 'progress', { epoch: 1, data: 'late' });
    expect(lateProgress).toMatchObject({ status: 409, body: { error: { code: 'stale_attempt' } } });
    const beat = await post<ErrorBody>(`/v1/workers/${silent.workerId}/heartbeat`, {});
    expect(beat).toMatchObject({
      status: 409,
      body: { error: { code: 'worker_expired', field: 'workerId' } },
    });
    expect(await report(standby, id, 'complete', { epoch: 2, result: 'on time' })).toMatchObject({
      status: 200,
    });
    const done = await waitFor('the task to succeed', 10_000, async () => {
      const t = await task(id);
      return t.status === 'succeeded' ? t : undefined;
    });
    expect(done).toMatchObject({ result: 'on time', agent: 'standby', epoch: 2 });
    const history = await waitFor('the archive rows', 10_000, async () => {
      const rows = (
        await api<{ epoch: number; agent: string; outcome: string }[]>(url, `/v1/tasks/${id}/history`)
      ).body;
      return rows.length === 2 && rows[1]!.outcome === 'succeeded' ? rows : undefined;
    });
    expect(history).toMatchObject([
      { epoch: 1, agent: 'silent', outcome: 'released' },
      { epoch: 2, agent: 'standby', outcome: 'succeeded' },
    ]);
    const metrics = (await api<string>(url, '/metrics')).body;
    expect(metrics).toMatch(/meshwork_worker_expirations_total [1-9]/);
    expect(metrics).toMatch(/meshwork_worker_refusals_total\{code="stale_attempt"\} [1-9]/);
    // Its agent is retired; the id may be registered again.
    const back = await register('silent', { capabilities: ['slow'] });
    await Promise.all([unregister(back), unregister(standby)]);
  });

  it('tells a worker through its heartbeat when its task is cancelled or timed out, and refuses the result', async () => {
    // Its heartbeats are the test's own: each reports an abort once, to whichever call comes first.
    const s = await register('abortable', { capabilities: ['abortable'], capacity: 2 }, { heartbeat: false });
    await submit({ id: 'to-cancel', type: 'a', needs: ['abortable'], input: 1 });
    await submit({
      id: 'to-time-out',
      type: 'a',
      needs: ['abortable'],
      input: 2,
      timeouts: { runMs: 500 },
      retry: { maxAttempts: 1 },
    });
    const got: Assignment[] = [];
    await waitFor('both tasks', 20_000, async () => {
      got.push(...(await poll(s, { waitMs: 1_000, max: 2 })));
      return got.length === 2 ? true : undefined;
    });
    const timed = got.find((t) => t.taskId === 'to-time-out')!;
    expect(timed.timeouts).toEqual({ scheduleToStartMs: null, runMs: 500 });
    expect(timed.deadline).toBeGreaterThan(Date.now() - 60_000);
    expect((await post(`/v1/tasks/to-cancel/cancel`, {})).status).toBe(200);
    const aborted: { taskId: string; reason: string }[] = [];
    await waitFor('both aborts in heartbeats', 20_000, async () => {
      const beat = await post<{ aborted: { taskId: string; reason: string }[] }>(
        `/v1/workers/${s.workerId}/heartbeat`,
        {},
      );
      aborted.push(...beat.body.aborted);
      return aborted.length === 2 ? true : undefined;
    });
    expect(Object.fromEntries(aborted.map((a) => [a.taskId, a.reason]))).toEqual({
      'to-cancel': 'attempt cancelled',
      'to-time-out': 'attempt timed-out',
    });
    for (const t of got) {
      const res = await report(s, t.taskId, 'complete', { epoch: t.epoch, result: 'too late' });
      expect(res).toMatchObject({ status: 409, body: { error: { code: 'stale_attempt' } } });
    }
    expect(await task('to-cancel')).toMatchObject({ status: 'cancelled' });
    expect(await task('to-time-out')).toMatchObject({
      status: 'failed',
      history: [{ outcome: 'timed-out' }],
    });
    await unregister(s);
  });

  it('unregistering hands the tasks a worker holds to another at once', async () => {
    const leaving = await register('leaving', { capabilities: ['handover'] });
    await submit({ id: 'handover-1', type: 'h', needs: ['handover'], input: null });
    const [t] = await waitFor('the task', 20_000, async () => {
      const tasks = await poll(leaving, { waitMs: 1_000 });
      return tasks.length > 0 ? tasks : undefined;
    });
    expect(t!.epoch).toBe(1);
    const gone = await unregister(leaving);
    expect(gone).toEqual({ status: 200, body: { workerId: leaving.workerId, released: ['handover-1'] } });
    expect(await report(leaving, 'handover-1', 'complete', { epoch: 1 })).toMatchObject({
      status: 409,
      body: { error: { code: 'stale_attempt' } },
    });
    expect((await post<ErrorBody>(`/v1/workers/${leaving.workerId}/poll`, {})).body.error.code).toBe(
      'unknown_worker',
    );
    const next = await register('arriving', { capabilities: ['handover'] });
    const [again] = await poll(next);
    expect(again).toMatchObject({ taskId: 'handover-1', epoch: 2 });
    expect((await report(next, 'handover-1', 'complete', { epoch: 2, result: 1 })).status).toBe(200);
    await unregister(next);
  });

  it('serves the same protocol without HTTP, for front doors in the process', async () => {
    const workers = daemon.workers;
    const s = workers.register({ id: 'in-process', capabilities: ['direct'] });
    await submit({ id: 'direct-1', type: 'd', needs: ['direct'], input: { x: 1 } });
    const [t] = await workers.next(s.workerId, { waitMs: 3_000 });
    expect(t).toMatchObject({ taskId: 'direct-1', epoch: 1, input: { x: 1 } });
    expect(() => workers.complete(s.workerId, 'direct-1', 2, 'x')).toThrow(WorkerError);
    try {
      workers.complete(s.workerId, 'direct-1', 2, 'x');
    } catch (err) {
      expect(err).toMatchObject({ code: 'stale_attempt', field: 'epoch' });
    }
    expect(workers.complete(s.workerId, 'direct-1', 1, { y: 2 })).toEqual({
      taskId: 'direct-1',
      epoch: 1,
      outcome: 'succeeded',
    });
    expect(workers.unregister(s.workerId)).toEqual({ workerId: s.workerId, released: [] });
    await waitFor('direct-1 to succeed', 10_000, async () =>
      (await task('direct-1')).status === 'succeeded' ? true : undefined,
    );
  });

  describe('@meshwork/worker', () => {
    /** A handler that runs until the test lets it go, noting each task it gets. */
    const gated = () => {
      const started: { taskId: string; epoch: number; signal: AbortSignal }[] = [];
      const gates = new Map<string, (result: unknown) => void>();
      return {
        started,
        release: (taskId: string, result: unknown) => gates.get(taskId)?.(result),
        handler: (task: { taskId: string; epoch: number; type: string }, ctx: { signal: AbortSignal }) => {
          started.push({ taskId: task.taskId, epoch: task.epoch, signal: ctx.signal });
          if (task.type === 'refuse') throw new PermanentError('will never work');
          return new Promise((resolve) => gates.set(task.taskId, resolve));
        },
      };
    };
    const settled = (id: string) =>
      waitFor(`${id} to settle`, 20_000, async () => {
        const t = await task(id);
        return ['succeeded', 'failed', 'cancelled'].includes(t.status) ? t : undefined;
      });

    it('runs tasks, reports permanent failures, and on stop lets a running task finish and report before it unregisters', async () => {
      const g = gated();
      const events: WorkerEvent[] = [];
      const worker = await createWorker({
        url,
        apiKey: API_KEY,
        agent: { id: 'client-1', capabilities: ['client'], capacity: 2 },
        handler: g.handler,
        pollWaitMs: 1_000,
        onEvent: (e) => events.push(e),
      });
      expect(worker.session).toMatchObject({
        agentId: 'client-1',
        capacity: 2,
        leaseMs,
        heartbeatMs: leaseMs / 4,
      });
      await submit({ id: 'client-refused', type: 'refuse', needs: ['client'], input: null });
      expect(await settled('client-refused')).toMatchObject({ status: 'failed', attempts: 1 });
      expect((await task('client-refused')).error).toContain('will never work');
      await submit({ id: 'client-drained', type: 'work', needs: ['client'], input: null });
      await waitFor('the task to start', 20_000, () => (worker.running === 1 ? true : undefined));
      const stopping = worker.stop({ drainMs: 20_000 });
      // Longer than the lease: heartbeats go on while it drains.
      await new Promise((resolve) => setTimeout(resolve, leaseMs * 2));
      g.release('client-drained', { drained: true });
      await stopping;
      expect(await settled('client-drained')).toMatchObject({
        status: 'succeeded',
        result: { drained: true },
        history: [{ epoch: 1, agent: 'client-1', outcome: 'succeeded' }],
      });
      const listed = (await api<{ agentId: string }[]>(url, '/v1/workers')).body;
      expect(listed.filter((w) => w.agentId === 'client-1')).toEqual([]);
      expect(events.filter((e) => e.type === 'refused' || e.type === 'error')).toEqual([]);
    });

    it('on stop, abandons a task that outlives the drain: another worker gets it at once', async () => {
      const first = gated();
      const worker = await createWorker({
        url,
        apiKey: API_KEY,
        agent: { id: 'client-2', capabilities: ['client-drain'] },
        handler: first.handler,
        pollWaitMs: 500,
      });
      await submit({
        id: 'client-abandoned',
        type: 'work',
        needs: ['client-drain'],
        input: null,
        retry: { maxAttempts: 3, backoff: { initialMs: 60_000 } },
      });
      await waitFor('the task to start', 20_000, () => first.started[0]);
      await worker.stop({ drainMs: 200 });
      expect(first.started[0]!.signal.aborted).toBe(true);
      const second = gated();
      const next = await createWorker({
        url,
        apiKey: API_KEY,
        agent: { id: 'client-3', capabilities: ['client-drain'] },
        handler: second.handler,
        pollWaitMs: 500,
      });
      await waitFor('the task on the next worker', 20_000, () => second.started[0]);
      expect(second.started[0]).toMatchObject({ taskId: 'client-abandoned', epoch: 2 });
      // The first handler's late answer goes nowhere: it was aborted and is not reported.
      first.release('client-abandoned', 'late');
      second.release('client-abandoned', 'on time');
      expect(await settled('client-abandoned')).toMatchObject({
        status: 'succeeded',
        result: 'on time',
        epoch: 2,
      });
      await next.stop();
    });

    it('aborts a handler whose task is cancelled, through the heartbeat', async () => {
      const g = gated();
      const events: WorkerEvent[] = [];
      const worker = await createWorker({
        url,
        apiKey: API_KEY,
        agent: { id: 'client-4', capabilities: ['client-cancel'] },
        handler: g.handler,
        pollWaitMs: 500,
        onEvent: (e) => events.push(e),
      });
      await submit({ id: 'client-cancelled', type: 'work', needs: ['client-cancel'], input: null });
      const started = await waitFor('the task to start', 20_000, () => g.started[0]);
      expect((await post('/v1/tasks/client-cancelled/cancel', {})).status).toBe(200);
      await waitFor('the abort', 20_000, () => (started.signal.aborted ? true : undefined));
      expect(events).toContainEqual({
        type: 'aborted',
        taskId: 'client-cancelled',
        epoch: 1,
        reason: 'attempt cancelled',
      });
      g.release('client-cancelled', 'ignored');
      await worker.stop();
      expect(await task('client-cancelled')).toMatchObject({ status: 'cancelled' });
    });
  });
});

function nested(levels: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < levels; i++) v = [v];
  return v;
}
