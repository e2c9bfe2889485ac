import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.ts';
import { startDaemon, type Daemon } from '../src/daemon.ts';
import { Emitter } from '@meshwork/core';
import { startApiServer, type LiveEvents, type NodeApi } from '../src/http-server.ts';
import { api, API_KEY, startDaemonProcess, tempDir, waitFor } from './support/processes.ts';

interface ErrorBody {
  error: { code: string; message: string; field?: string };
}

/** A client that asks for the event stream and never reads a byte of it. */
function silentStreamClient(url: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) }, () => {
      socket.write(
        `GET /v1/events HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${API_KEY}\r\n\r\n`,
      );
      socket.pause();
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

describe('event stream backpressure', () => {
  it('drops a client that stops reading, counts it, and caps concurrent streams with 429', async () => {
    const feed = new Emitter<LiveEvents>();
    const notImplemented = (): never => {
      throw new Error('not used');
    };
    const fake: NodeApi = {
      status: () => ({}),
      ready: () => true,
      peers: () => [],
      agents: () => [],
      listTasks: () => ({ items: [], nextCursor: null }),
      getTask: () => undefined,
      taskHistory: () => [],
      submitTask: notImplemented,
      cancelTask: () => undefined,
      listWorkflows: () => ({ items: [], nextCursor: null }),
      workflowTemplates: () => [],
      getWorkflow: () => undefined,
      startWorkflow: notImplemented,
      live: feed,
      metrics: () => Promise.resolve({ contentType: 'text/plain', body: '' }),
      memory: {
        listDocuments: notImplemented,
        createDocument: notImplemented,
        getDocument: notImplemented,
        getMember: notImplemented,
        writeMember: notImplemented,
      },
    };
    let dropped = 0;
    let open = 0;
    const throttled: string[] = [];
    const server = await startApiServer(fake, {
      host: '127.0.0.1',
      port: 0,
      apiKey: API_KEY,
      maxBodyBytes: 4096,
      maxEventStreams: 2,
      eventStreamBufferBytes: 64 * 1024,
      onStreamDropped: () => dropped++,
      onThrottled: (code) => throttled.push(code),
      onEventStreams: (n) => (open = n),
    });
    const silent = await silentStreamClient(server.url);
    const reader = new AbortController();
    const live = await fetch(`${server.url}/v1/events`, { signal: reader.signal });
    const body = live.body!.getReader();
    await waitFor('both streams to open', 5_000, () => (open === 2 ? true : undefined));

    const third = await fetch(`${server.url}/v1/events`);
    expect(third.status).toBe(429);
    expect(third.headers.get('retry-after')).toBe('5');
    expect(((await third.json()) as ErrorBody).error.code).toBe('too_many_streams');
    expect(throttled).toEqual(['too_many_streams']);

    // 64 MiB of events: far more than the socket buffers and the per-client bound hold.
    const data = 'x'.repeat(64 * 1024);
    let received = 0;
    const reading = (async () => {
      for (;;) {
        const chunk = (await body.read()) as { done: boolean; value?: Uint8Array };
        if (chunk.done) return;
        received += chunk.value?.byteLength ?? 0;
      }
    })().catch(() => undefined);
    for (let i = 0; i < 1_024 && dropped === 0; i++) {
      feed.emit('event', [{ type: 'task', data: { i, data } }]);
      await new Promise((r) => setImmediate(r));
    }
    expect(dropped).toBe(1);
    await waitFor('the silent client to be dropped', 5_000, () => (open === 1 ? true : undefined));
    // The reading client kept its stream.
    expect(received).toBeGreaterThan(0);
    reader.abort();
    await reading;
    silent.destroy();
    await server.close();
  });
});

/** A daemon in this process, with no agent (every submitted task stays open) and `limits`. */
function startWithLimits(name: string, limits: Record<string, number>): Promise<Daemon> {
  const dir = tempDir(name);
  return startDaemon(
    parseConfig(
      { name, dataDir: join(dir, 'data'), apiKey: API_KEY, http: { port: 0 }, logLevel: 'silent', limits },
      dir,
    ),
  );
}

describe('submission backpressure on a real daemon', () => {
  let daemon: Daemon;
  beforeAll(async () => {
    daemon = await startWithLimits('bp', { maxOpenTasks: 5, maxWorkflowTasks: 100 });
  });
  afterAll(() => daemon.stop());
  const task = (id: string) => ({ id, input: { executor: 'shell', argv: ['true'] } });

  it('answers 429 with Retry-After once limits.maxOpenTasks tasks are open, and counts it', async () => {
    for (let i = 0; i < 5; i++)
      expect((await api(daemon.url, '/v1/tasks', { body: task(`t${i}`) })).status).toBe(201);
    const res = await fetch(`${daemon.url}/v1/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` },
      body: JSON.stringify(task('one-too-many')),
    });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    const { error } = (await res.json()) as ErrorBody;
    expect(error.code).toBe('too_many_open_tasks');
    expect(error.message).toContain('limits.maxOpenTasks');
    // Resubmitting a task the node holds changes nothing and is answered as before.
    expect((await api(daemon.url, '/v1/tasks', { body: task('t0') })).status).toBe(201);
    expect(
      (
        await api(daemon.url, '/v1/workflows', {
          body: { template: { name: 'w', steps: [{ id: 's', type: 'x', input: {} }] } },
        })
      ).status,
    ).toBe(429);
    expect((await api(daemon.url, '/healthz')).status).toBe(200);
    const metrics = (await api<string>(daemon.url, '/metrics')).body;
    expect(metrics).toMatch(/^meshwork_http_throttled_total\{reason="too_many_open_tasks"\} 2$/m);

    // A finished task frees its place.
    expect((await api(daemon.url, '/v1/tasks/t4/cancel', { body: {} })).status).toBe(200);
    expect((await api(daemon.url, '/v1/tasks', { body: task('after-cancel') })).status).toBe(201);
    for (let i = 0; i < 4; i++) await api(daemon.url, `/v1/tasks/t${i}/cancel`, { body: {} });
    await api(daemon.url, '/v1/tasks/after-cancel/cancel', { body: {} });
  });

  it('refuses a workflow whose forEach would create more than limits.maxWorkflowTasks tasks, creating nothing', async () => {
    const before = (await api<{ items: unknown[] }>(daemon.url, '/v1/tasks?limit=10000')).body.items.length;
    const start = (n: number) =>
      api<ErrorBody>(daemon.url, '/v1/workflows', {
        body: {
          template: {
            name: 'fan-out',
            params: ['items'],
            steps: [
              {
                id: 'each',
                type: 'executor:shell',
                forEach: 'params.items',
                input: { executor: '"shell"', argv: '("echo", "item")' },
              },
            ],
          },
          params: { items: Array.from({ length: n }, (_, i) => i) },
        },
      });
    const res = await start(5_000);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('limit_exceeded');
    expect(res.body.error.message).toContain('limits.maxWorkflowTasks');
    // Past the mesh-wide bound of a run, the plan itself refuses the step: no node would run it.
    const huge = await start(20_000);
    expect(huge.status).toBe(400);
    expect(huge.body.error.message).toContain('MAX_RUN_TASKS');
    expect((await api<{ items: unknown[] }>(daemon.url, '/v1/workflows')).body.items).toEqual([]);
    expect((await api<{ items: unknown[] }>(daemon.url, '/v1/tasks?limit=10000')).body.items.length).toBe(
      before,
    );
    expect((await api(daemon.url, '/healthz')).status).toBe(200);
  });
});

describe('an overloaded daemon', () => {
  let daemon: Daemon;
  beforeAll(async () => {
    daemon = await startWithLimits('lagging', { maxEventLoopLagMs: 3_000 });
  });
  afterAll(() => daemon.stop());
  const submit = (id: string) =>
    fetch(`${daemon.url}/v1/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` },
      body: JSON.stringify({ id, input: { executor: 'shell', argv: ['true'] } }),
    });

  it('pushes submissions back with 429 overloaded while its event loop ran late, and takes them again after', async () => {
    // The daemon runs in this process: block its event loop past the limit.
    const until = performance.now() + 4_000;
    while (performance.now() < until);
    // Membership's next tick finds how late it ran.
    await new Promise((r) => setTimeout(r, 600));
    const res = await submit('while-late');
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    const { error } = (await res.json()) as ErrorBody;
    expect(error.code).toBe('overloaded');
    expect(error.message).toContain('limits.maxEventLoopLagMs = 3000');
    // Reads are answered meanwhile.
    expect((await api(daemon.url, '/v1/tasks?limit=1')).status).toBe(200);
    const metrics = (await api<string>(daemon.url, '/metrics')).body;
    expect(metrics).toMatch(/^meshwork_http_throttled_total\{reason="overloaded"\} 1$/m);
    // A lag counts for 10 s after it.
    await waitFor('submissions to be taken again', 30_000, async () =>
      (await submit('after')).status === 201 ? true : undefined,
    );
  }, 45_000);
});

describe('an API beyond loopback', () => {
  it('needs the key for reads too; probes and metrics stay open', async () => {
    const dir = tempDir('public');
    const daemon = await startDaemon(
      parseConfig(
        {
          name: 'public',
          dataDir: join(dir, 'data'),
          apiKey: API_KEY,
          http: { host: '0.0.0.0', port: 0 },
          logLevel: 'silent',
        },
        dir,
      ),
    );
    try {
      const url = daemon.url.replace('0.0.0.0', '127.0.0.1');
      for (const path of ['/v1/tasks', '/v1/status', '/v1/agents', '/v1/workflows', '/v1/tasks/x']) {
        expect((await api(url, path, { key: null })).status).toBe(401);
      }
      expect((await fetch(`${url}/v1/events`)).status).toBe(401);
      expect((await api(url, '/v1/tasks')).status).toBe(200);
      for (const path of ['/healthz', '/readyz', '/metrics'])
        expect((await api(url, path, { key: null })).status).toBe(200);
    } finally {
      await daemon.stop();
    }
  });
});

describe('shutdown under load', () => {
  it('stops on SIGTERM within its drain timeout while clients hold event streams without reading', async () => {
    const dir = tempDir('sigterm-load');
    const node = await startDaemonProcess(dir, { name: 'loaded', drainTimeoutMs: 1_000 });
    const url = node.info.url;
    const silent = await Promise.all(Array.from({ length: 20 }, () => silentStreamClient(url)));
    const input = 'x'.repeat(200 * 1024);
    for (let i = 0; i < 100; i++) {
      const res = await api(url, '/v1/tasks', {
        body: { input: { executor: 'module', handler: 'h', input } },
      });
      expect(res.status).toBe(201);
    }
    // The event loop still answers while the streams are backed up.
    expect((await api(url, '/healthz')).status).toBe(200);
    const metrics = (await api<string>(url, '/metrics')).body;
    expect(metrics).toMatch(/^meshwork_sse_dropped_total [1-9]/m);
    node.child.kill('SIGTERM');
    const code = await Promise.race([
      node.exited,
      new Promise<'hung'>((r) => setTimeout(() => r('hung'), 20_000)),
    ]);
    if (code === 'hung') node.child.kill('SIGKILL');
    expect(code).toBe(0);
    for (const s of silent) s.destroy();
  });
});
