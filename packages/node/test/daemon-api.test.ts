import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.ts';
import { startDaemon, type Daemon } from '../src/daemon.ts';
import { VERSION } from '../src/version.ts';
import { api, API_KEY, tempDir, waitFor } from './support/processes.ts';

interface Task {
  id: string;
  status: string;
  agent: string | null;
  result: { exitCode?: number; stdout?: string } | null;
  progress: unknown;
}

/** Every endpoint of a real daemon (one node, one shell agent). */
describe('daemon HTTP API', () => {
  let daemon: Daemon;
  let url = '';
  const dir = tempDir('api');
  beforeAll(async () => {
    const config = parseConfig(
      {
        name: 'api-node',
        dataDir: join(dir, 'data'),
        apiKey: API_KEY,
        http: { port: 0, maxBodyBytes: 8192 },
        logLevel: 'silent',
        agents: [{ id: 'worker', capabilities: ['unix'], capacity: 2, executors: { shell: {} } }],
        workflows: {
          pair: {
            name: 'pair',
            steps: [
              {
                id: 'first',
                type: 'executor:shell',
                input: { executor: '"shell"', argv: '("echo", "one")' },
              },
              {
                id: 'second',
                type: 'executor:shell',
                input: { executor: '"shell"', argv: '("echo", "two")' },
              },
            ],
          },
        },
      },
      dir,
    );
    daemon = await startDaemon(config);
    url = daemon.url;
  });
  afterAll(() => daemon.stop());

  it('serves health, readiness, status, peers and agents', async () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await api(url, '/healthz')).toEqual({ status: 200, body: { ok: true } });
    expect(await api(url, '/readyz')).toEqual({ status: 200, body: { ready: true } });
    const status = await api<{ node: string; peerId: string; agents: string[] }>(url, '/v1/status');
    expect(status.body).toMatchObject({ node: 'api-node', peerId: daemon.peerId, agents: ['worker'] });
    expect((await api(url, '/v1/peers')).body).toEqual([]);
    const agents = await waitFor('the agent to be live', 10_000, async () => {
      const { body } = await api<{ id: string; live: boolean; capabilities: string[] }[]>(url, '/v1/agents');
      return body.some((a) => a.live) ? body : undefined;
    });
    expect(agents[0]).toMatchObject({ id: 'worker', local: true });
    expect(agents[0]!.capabilities.sort()).toEqual(['executor:shell', 'unix']);
  });

  it('runs a submitted task and shows it, its history and its output', async () => {
    const created = await api<Task>(url, '/v1/tasks', {
      body: { id: 'hello', input: { executor: 'shell', argv: ['echo', 'hello'] } },
    });
    expect(created.status).toBe(201);
    expect(created.body.id).toBe('hello');
    const done = await waitFor('the task to succeed', 20_000, async () => {
      const { body } = await api<Task>(url, '/v1/tasks/hello');
      return body.status === 'succeeded' ? body : undefined;
    });
    expect(done).toMatchObject({ agent: 'worker', result: { exitCode: 0, stdout: 'hello\n' } });
    const list = await api<{ items: Task[] }>(url, '/v1/tasks?status=succeeded');
    expect(list.body.items.map((t) => t.id)).toContain('hello');
    const history = await api<{ task: string; outcome: string }[]>(url, '/v1/tasks/hello/history');
    expect(history.body).toEqual([
      expect.objectContaining({ task: 'hello', agent: 'worker', epoch: 1, outcome: 'succeeded' }),
    ]);

    // The history table is plain SQL.
    const db = new DatabaseSync(join(dir, 'data', 'meshwork.db'), { readOnly: true });
    expect(db.prepare("SELECT agent, outcome FROM task_history WHERE task = 'hello'").all()).toEqual([
      { agent: 'worker', outcome: 'succeeded' },
    ]);
    db.close();
  });

  it('cancels a running task: the executor is aborted', async () => {
    await api(url, '/v1/tasks', {
      body: { id: 'sleepy', input: { executor: 'shell', argv: ['sleep', '30'] } },
    });
    await waitFor('the task to run', 20_000, async () => {
      const { body } = await api<Task>(url, '/v1/tasks/sleepy');
      return body.status === 'running' ? true : undefined;
    });
    const cancelled = await api<Task>(url, '/v1/tasks/sleepy/cancel', { body: {} });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
    const history = await waitFor('the attempt to end', 10_000, async () => {
      const { body } = await api<{ outcome: string }[]>(url, '/v1/tasks/sleepy/history');
      return body[0]?.outcome !== 'running' && body.length > 0 ? body : undefined;
    });
    expect(history[0]!.outcome).toBe('cancelled');
  });

  it('starts a named workflow template and reports its steps', async () => {
    expect((await api<unknown[]>(url, '/v1/workflows/templates')).body).toHaveLength(1);
    const started = await api<{ id: string }>(url, '/v1/workflows', {
      body: { template: 'pair', id: 'wf-1' },
    });
    expect(started.status).toBe(201);
    const done = await waitFor('the workflow to finish', 30_000, async () => {
      const { body } = await api<{ status: string; steps: Record<string, string> }>(
        url,
        '/v1/workflows/wf-1',
      );
      return body.status !== 'running' ? body : undefined;
    });
    expect(done).toMatchObject({ status: 'succeeded', steps: { first: 'succeeded', second: 'succeeded' } });
    expect(
      (await api<{ items: { id: string }[] }>(url, '/v1/workflows')).body.items.map((w) => w.id),
    ).toContain('wf-1');
    expect((await api(url, '/v1/workflows/none')).status).toBe(404);
    const bad = await api<{ error: { field: string } }>(url, '/v1/workflows', { body: { template: 'nope' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('template');
  });

  it('exports Prometheus metrics', async () => {
    const { status, body } = await api<string>(url, '/metrics');
    expect(status).toBe(200);
    for (const name of [
      'meshwork_tasks{status="succeeded"}',
      `meshwork_build_info{version="${VERSION}",node="${process.version}"} 1`,
      'meshwork_attempts_started_total',
      'meshwork_attempt_outcomes_total{outcome="succeeded"}',
      'meshwork_attempt_outcomes_total{outcome="fenced"} 0',
      'meshwork_attempt_duration_seconds_bucket{le="0.01",outcome="succeeded"}',
      'meshwork_task_submit_to_start_seconds_bucket',
      'meshwork_failovers_total',
      'meshwork_transport_bytes_total',
      'meshwork_transport_messages_total',
      'meshwork_transport_rejected_total',
      'meshwork_peers',
      'meshwork_silent_links_closed_total 0',
      'meshwork_stalls_total 0',
      'meshwork_isolations_total 0',
      'meshwork_sync_rounds_total',
      'meshwork_sync_snapshots_total',
      'meshwork_events_received_total{via="sync",outcome="applied"}',
      'meshwork_events_received_total{via="any",outcome="duplicate"}',
      'meshwork_store_events_total',
      'nodejs_eventloop_lag_seconds',
    ]) {
      expect(body).toContain(name);
    }
    // Renamed: starts and outcomes were one series, submit→start was called claim latency.
    expect(body).not.toContain('meshwork_task_attempts_total');
    expect(body).not.toContain('meshwork_claim_latency_seconds');
    const value = (series: string): number =>
      Number(
        body
          .split('\n')
          .find((l) => l.startsWith(`${series} `))
          ?.split(' ')[1],
      );
    const { body: nodeStatus } = await api<{ settleMs: number }>(url, '/v1/status');
    expect(value('meshwork_settle_window_seconds')).toBeCloseTo(nodeStatus.settleMs / 1000, 1);
    const succeeded = value('meshwork_attempt_outcomes_total{outcome="succeeded"}');
    expect(succeeded).toBeGreaterThan(0);
    expect(value('meshwork_attempts_started_total')).toBeGreaterThanOrEqual(succeeded);
    expect(value('meshwork_attempt_duration_seconds_count{outcome="succeeded"}')).toBe(succeeded);
  });

  it('refuses mutating calls without the key, invalid bodies and oversized bodies, changing nothing', async () => {
    const before = (await api<{ items: Task[] }>(url, '/v1/tasks')).body.items.length;
    const body = { input: { executor: 'shell', argv: ['true'] } };
    expect((await api(url, '/v1/tasks', { body, key: null })).status).toBe(401);
    expect((await api(url, '/v1/tasks', { body, key: 'wrong' })).status).toBe(401);
    expect((await api(url, '/v1/tasks/hello/cancel', { body: {}, key: null })).status).toBe(401);
    expect((await api(url, '/v1/workflows', { body: { template: 'pair' }, key: null })).status).toBe(401);
    const invalid = await api<{ error: { field: string } }>(url, '/v1/tasks', {
      body: { input: { executor: 'shell' } },
    });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.field).toBe('input.argv');
    const dup = await api<{ error: { field: string } }>(url, '/v1/tasks', {
      body: { ...body, dependsOn: ['self'], id: 'self' },
    });
    expect(dup.status).toBe(400);
    expect(
      (await api(url, '/v1/tasks', { body: { input: { executor: 'shell', argv: ['x'.repeat(9000)] } } }))
        .status,
    ).toBe(413);
    expect((await api<{ items: Task[] }>(url, '/v1/tasks')).body.items.length).toBe(before);
    expect((await api(url, '/v1/tasks/none')).status).toBe(404);
  });

  it('streams task changes over SSE', async () => {
    const ac = new AbortController();
    const res = await fetch(`${url}/v1/events`, { signal: ac.signal });
    const reader = res.body!.getReader();
    await api(url, '/v1/tasks', {
      body: { id: 'streamed', input: { executor: 'shell', argv: ['echo', 'streamed'] } },
    });
    let text = '';
    while (!/"id":"streamed","type":"[^"]+","status":"succeeded"/.test(text)) {
      text += new TextDecoder().decode((await reader.read()).value as Uint8Array);
    }
    expect(text).toContain('event: task\n');
    ac.abort();
  });
});
