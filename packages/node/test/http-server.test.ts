import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { promisify } from 'node:util';
import { Emitter } from '@meshwork/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startApiServer,
  type ApiServer,
  type Json,
  type LiveEvent,
  type LiveEvents,
  type NodeApi,
} from '../src/http-server.ts';

const KEY = 'test-key-0123456789abcdef';

/** An in-memory API behind the server, to check routing, auth, validation and streaming. */
function fakeApi() {
  const tasks = new Map<string, { [key: string]: Json }>();
  const live = new Emitter<LiveEvents>();
  const memoryWrites: unknown[] = [];
  const emit = (e: LiveEvent) => live.emit('event', [e]);
  const api: NodeApi = {
    status: () => ({ node: 'n1', tasks: tasks.size }),
    ready: () => true,
    peers: () => [],
    agents: () => [{ id: 'a1' }],
    listTasks: ({ limit }) => ({ items: [...tasks.values()].slice(0, limit), nextCursor: null }),
    getTask: (id) => tasks.get(id),
    taskHistory: () => [],
    submitTask: (body) => {
      const task = { id: body.id ?? `t${tasks.size + 1}`, status: 'pending' };
      tasks.set(task.id, task);
      emit({ type: 'task', data: task });
      return task;
    },
    cancelTask: (id) => {
      const task = tasks.get(id);
      if (task) task.status = 'cancelled';
      return task;
    },
    listWorkflows: () => ({ items: [], nextCursor: null }),
    workflowTemplates: () => [],
    getWorkflow: () => undefined,
    startWorkflow: () => ({ id: 'w1' }),
    live,
    metrics: () => Promise.resolve({ contentType: 'text/plain', body: 'x 1\n' }),
    memory: {
      listDocuments: () => ({ documents: [], next: null }),
      createDocument: (name) => ({ created: true, document: { name, members: 0 } }),
      getDocument: (document) => ({ document, members: [], next: null }),
      getMember: (document, member) => ({ document, member }),
      writeMember: (document, member, operation) => {
        memoryWrites.push(operation);
        return { document, member };
      },
    },
  };
  return { api, tasks, memoryWrites };
}

describe('HTTP API server', () => {
  let server: ApiServer;
  const { api, tasks, memoryWrites } = fakeApi();
  beforeAll(async () => {
    server = await startApiServer(api, { host: '127.0.0.1', port: 0, apiKey: KEY, maxBodyBytes: 4096 });
  });
  afterAll(() => server.close());
  const post = (path: string, body: unknown, key: string | null = KEY) =>
    fetch(server.url + path, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(key !== null ? { authorization: `Bearer ${key}` } : {}),
      },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const shellTask = { input: { executor: 'shell', argv: ['true'] } };

  it('binds to the loopback address it was given', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('refuses mutating calls without the right key and changes nothing', async () => {
    for (const key of [null, 'wrong-key', '']) {
      const res = await post('/v1/tasks', shellTask, key);
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    }
    expect((await post('/v1/tasks/x/cancel', {}, 'nope')).status).toBe(401);
    expect(tasks.size).toBe(0);
  });

  it('validates bodies and names the field', async () => {
    const cases: [unknown, string][] = [
      [{ input: { executor: 'shell', argv: 'ls -l' } }, 'input.argv'],
      [{ input: { executor: 'ftp' } }, 'input.executor'],
      [{ ...shellTask, priority: 'high' }, 'priority'],
      [{ ...shellTask, colour: 'red' }, 'colour'],
      [{ input: { executor: 'http', url: 'file:///etc/passwd' } }, 'input.url'],
    ];
    for (const [body, field] of cases) {
      const res = await post('/v1/tasks', body);
      expect(res.status).toBe(400);
      const { error } = (await res.json()) as { error: { field: string; message: string } };
      expect(error.field).toBe(field);
      expect(error.message).toContain(field);
    }
    expect((await post('/v1/tasks', '{not json')).status).toBe(400);
    expect((await fetch(`${server.url}/v1/tasks?limit=0`)).status).toBe(400);
    expect(tasks.size).toBe(0);
  });

  it('routes shared memory: writes need the key, bodies are validated naming the field', async () => {
    const send = (method: string, path: string, body: unknown, key: string | null = KEY) =>
      fetch(server.url + path, {
        method,
        headers: {
          'content-type': 'application/json',
          ...(key !== null ? { authorization: `Bearer ${key}` } : {}),
        },
        body: JSON.stringify(body),
      });
    expect((await send('PUT', '/v1/memory/d/m', { type: 'lww', value: 1 }, null)).status).toBe(401);
    expect(
      (await send('POST', '/v1/memory/d/m', { type: 'pncounter', op: 'increment' }, 'wrong')).status,
    ).toBe(401);
    expect((await send('PUT', '/v1/memory/d', {}, null)).status).toBe(401);
    const cases: [string, unknown, string][] = [
      ['POST', { type: 'nope', op: 'set', value: 1 }, 'type'],
      ['POST', { op: 'set', value: 1 }, 'type'],
      ['POST', { type: 'orset', op: 'put', values: [1] }, 'op'],
      ['POST', { type: 'orset', op: 'add' }, 'values'],
      ['POST', { type: 'orset', op: 'add', values: [] }, 'values'],
      ['POST', { type: 'pncounter', op: 'increment', by: 0 }, 'by'],
      ['POST', { type: 'text', op: 'insert', index: -1, text: 'x' }, 'index'],
      ['POST', { type: 'graph', op: 'addVertex', id: 'a', colour: 'red' }, 'colour'],
      [
        'POST',
        { type: 'timeseries', op: 'append', points: [{ series: 's', value: 'high' }] },
        'points.0.value',
      ],
      ['PUT', { type: 'orset', value: 1 }, 'type'],
      ['PUT', { type: 'lww' }, 'value'],
    ];
    for (const [method, body, field] of cases) {
      const res = await send(method, '/v1/memory/d/m', body);
      expect(res.status).toBe(400);
      const { error } = (await res.json()) as { error: { code: string; field: string; message: string } };
      expect(error).toMatchObject({ code: 'invalid_request', field });
      expect(error.message).toContain(field);
    }
    expect((await send('PUT', '/v1/memory/d', { shared: true })).status).toBe(400);
    expect((await fetch(`${server.url}/v1/memory/d/m?limit=0`)).status).toBe(400);
    expect((await fetch(`${server.url}/v1/memory/d/m?colour=red`)).status).toBe(400);
    expect((await fetch(`${server.url}/v1/memory?limit=5000`)).status).toBe(400);
    expect(memoryWrites).toEqual([]);

    expect((await send('PUT', '/v1/memory/d', {})).status).toBe(201);
    expect((await send('PUT', '/v1/memory/d/m', { type: 'mvregister', value: { a: 1 } })).status).toBe(200);
    expect((await send('POST', '/v1/memory/d/m', { type: 'pncounter', op: 'decrement' })).status).toBe(200);
    expect(memoryWrites).toEqual([
      { type: 'mvregister', op: 'set', value: { a: 1 } },
      { type: 'pncounter', op: 'decrement', by: 1 },
    ]);
  });

  it('refuses oversized bodies with 413', async () => {
    const res = await post('/v1/tasks', { input: { executor: 'shell', argv: ['echo', 'x'.repeat(10_000)] } });
    expect(res.status).toBe(413);
    expect(tasks.size).toBe(0);
  });

  it('answers 404 for unknown routes and ids, 405 for wrong methods', async () => {
    expect((await fetch(`${server.url}/nope`)).status).toBe(404);
    expect((await fetch(`${server.url}/v1/tasks/none`)).status).toBe(404);
    expect((await post('/v1/tasks/none/cancel', {})).status).toBe(404);
    const res = await fetch(`${server.url}/v1/status`, { method: 'DELETE' });
    expect(res.status).toBe(405);
  });

  it('streams live changes over SSE', async () => {
    const ac = new AbortController();
    const res = await fetch(`${server.url}/v1/events`, { signal: ac.signal });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body!.getReader();
    expect((await post('/v1/tasks', { ...shellTask, id: 'live' })).status).toBe(201);
    let text = '';
    while (!text.includes('"live"'))
      text += new TextDecoder().decode((await reader.read()).value as Uint8Array);
    expect(text).toContain('event: task\ndata: {"id":"live","status":"pending"}');
    ac.abort();
  });
});

describe('writes under a burst', () => {
  it('are taken one per event-loop turn, so a health probe is not held behind all of them', async () => {
    const { api } = fakeApi();
    // Each write holds the event loop for a while, as a synchronous durable commit does.
    const busy: NodeApi = {
      ...api,
      submitTask: (body) => {
        const until = performance.now() + 5;
        while (performance.now() < until);
        return api.submitTask(body);
      },
    };
    const server = await startApiServer(busy, {
      host: '127.0.0.1',
      port: 0,
      apiKey: KEY,
      maxBodyBytes: 4096,
    });
    // The client runs in a process of its own, so the server's busy loop does not hold it too.
    const client = `
      const url = ${JSON.stringify(server.url)};
      const done = [];
      const writes = Array.from({ length: 40 }, (_, i) =>
        fetch(url + '/v1/tasks', {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: 'Bearer ${KEY}' },
          body: JSON.stringify({ id: 'burst-' + i, input: { executor: 'shell', argv: ['true'] } }),
        }).then((r) => r.text()).then(() => done.push('write')));
      setTimeout(() => {
        require('node:http').get(url + '/healthz', { agent: false }, (res) => {
          res.resume();
          res.on('end', () => done.push('probe'));
        });
      }, 20);
      Promise.all(writes).then(() => setTimeout(() => console.log(JSON.stringify(done)), 50));
    `;
    try {
      const { stdout: out } = await promisify(execFile)(process.execPath, ['-e', client]);
      const done = JSON.parse(out) as string[];
      expect(done.filter((d) => d === 'write')).toHaveLength(40);
      // Answered while most of the burst still waited for its turn.
      expect(done.indexOf('probe')).toBeGreaterThanOrEqual(0);
      expect(done.indexOf('probe')).toBeLessThan(20);
    } finally {
      await server.close();
    }
  });
});

/** Reads an event stream until `until` holds for the text so far. */
async function readUntil(res: Response, until: (text: string) => boolean): Promise<string> {
  const reader = res.body!.getReader();
  let text = '';
  while (!until(text)) {
    const chunk = await reader.read();
    if (chunk.done) break;
    text += new TextDecoder().decode(chunk.value as Uint8Array);
  }
  return text;
}

/** The `id:` and `event:` of each event frame in `text`. */
function frames(text: string): { id: string; event: string; data: string }[] {
  return text
    .split('\n\n')
    .filter((f) => f.includes('event: '))
    .map((f) => ({
      id: /^id: (.+)$/m.exec(f)?.[1] ?? '',
      event: /^event: (.+)$/m.exec(f)![1]!,
      data: /^data: (.+)$/m.exec(f)?.[1] ?? '',
    }));
}

describe('event stream resume', () => {
  let server: ApiServer;
  const { api } = fakeApi();
  const emitTasks = async (ids: string[]) => {
    for (const id of ids) {
      const res = await fetch(`${server.url}/v1/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
        body: JSON.stringify({ id, input: { executor: 'shell', argv: ['true'] } }),
      });
      expect(res.status).toBe(201);
    }
  };
  beforeAll(async () => {
    server = await startApiServer(api, {
      host: '127.0.0.1',
      port: 0,
      apiKey: KEY,
      maxBodyBytes: 4096,
      eventReplayEvents: 4,
    });
  });
  afterAll(() => server.close());

  it('gives every event an id and sends a reconnecting client what it missed', async () => {
    const first = new AbortController();
    const live = await fetch(`${server.url}/v1/events`, { signal: first.signal });
    await emitTasks(['r1', 'r2']);
    const seen = frames(await readUntil(live, (t) => t.includes('"r2"')));
    expect(seen.map((f) => f.event)).toEqual(['task', 'task']);
    expect(seen.every((f) => f.id !== '')).toBe(true);
    first.abort();

    await emitTasks(['r3', 'r4']);
    const again = new AbortController();
    const resumed = await fetch(`${server.url}/v1/events`, {
      signal: again.signal,
      headers: { 'last-event-id': seen[0]!.id },
    });
    const replayed = frames(await readUntil(resumed, (t) => t.includes('"r4"')));
    expect(replayed.map((f) => JSON.parse(f.data) as { id: string }).map((t) => t.id)).toEqual([
      'r2',
      'r3',
      'r4',
    ]);
    again.abort();

    // The query parameter does the same, for clients that cannot set the header.
    const byQuery = new AbortController();
    const viaQuery = await fetch(`${server.url}/v1/events?lastEventId=${replayed[1]!.id}`, {
      signal: byQuery.signal,
    });
    expect(frames(await readUntil(viaQuery, (t) => t.includes('"r4"')))).toEqual([replayed[2]]);
    byQuery.abort();
  });

  it('answers event: reset when the events after the id are no longer held', async () => {
    const first = new AbortController();
    const live = await fetch(`${server.url}/v1/events`, { signal: first.signal });
    await emitTasks(['o1']);
    const [last] = frames(await readUntil(live, (t) => t.includes('"o1"')));
    first.abort();
    // More than the ring's 4 events while the client was away.
    await emitTasks(['o2', 'o3', 'o4', 'o5', 'o6']);
    for (const lastEventId of [last!.id, 'ffffffff.1', 'not-an-id']) {
      const again = new AbortController();
      const res = await fetch(`${server.url}/v1/events`, {
        signal: again.signal,
        headers: { 'last-event-id': lastEventId },
      });
      const [reset] = frames(await readUntil(res, (t) => t.includes('event: reset')));
      expect(reset!.event).toBe('reset');
      expect(reset!.id).not.toBe('');
      again.abort();
      // The reset's id resumes from there.
      const next = new AbortController();
      const resumed = await fetch(`${server.url}/v1/events`, {
        signal: next.signal,
        headers: { 'last-event-id': reset!.id },
      });
      await emitTasks([`after-${lastEventId}`]);
      const after = frames(await readUntil(resumed, (t) => t.includes(`"after-${lastEventId}"`)));
      expect(after.map((f) => f.event)).toEqual(['task']);
      next.abort();
    }
  });
});

describe('error answers', () => {
  let server: ApiServer;
  const { api } = fakeApi();
  beforeAll(async () => {
    server = await startApiServer(api, { host: '127.0.0.1', port: 0, apiKey: KEY, maxBodyBytes: 4096 });
  });
  afterAll(() => server.close());
  const expectEnvelope = async (res: Response, status: number, code: string) => {
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe(code);
    expect(body.error.message).toEqual(expect.any(String));
  };
  const write = (body: string, contentType: string) =>
    fetch(`${server.url}/v1/tasks`, {
      method: 'POST',
      headers: { 'content-type': contentType, authorization: `Bearer ${KEY}` },
      body,
    });

  it('keep the JSON envelope for whatever the framework refuses', async () => {
    await expectEnvelope(await fetch(`${server.url}/nope/deeper`), 404, 'not_found');
    const wrongMethod = await fetch(`${server.url}/v1/tasks`, { method: 'PATCH' });
    expect(wrongMethod.headers.get('allow')).toBe('GET, POST');
    await expectEnvelope(wrongMethod, 405, 'method_not_allowed');
    for (const path of ['/v1/status', '/v1/events', '/metrics'])
      expect((await fetch(server.url + path, { method: 'HEAD' })).status).toBe(405);
    await expectEnvelope(await write('x'.repeat(5000), 'application/json'), 413, 'body_too_large');
    // Chunked, with no declared length: counted as it streams in.
    const chunked = await fetch(`${server.url}/v1/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: new ReadableStream({
        start(controller) {
          for (let i = 0; i < 5; i++) controller.enqueue(new TextEncoder().encode('x'.repeat(1000)));
          controller.close();
        },
      }),
      duplex: 'half',
    });
    await expectEnvelope(chunked, 413, 'body_too_large');
    await expectEnvelope(
      await write('input=1', 'application/x-www-form-urlencoded'),
      415,
      'unsupported_media_type',
    );
    await expectEnvelope(await write('{"input":', 'application/json'), 400, 'invalid_json');
    await expectEnvelope(await fetch(`${server.url}/v1/tasks?limit=x`), 400, 'invalid_request');
    await expectEnvelope(await fetch(`${server.url}/v1/tasks/%E0%A4%A`), 400, 'invalid_path');
    // A request the framework cannot even form (a Host that is no host name).
    const raw = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${server.url}/v1/status`, { headers: { host: 'bad host:1' } }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(raw.status).toBe(400);
    expect(JSON.parse(raw.body)).toMatchObject({ error: { code: 'invalid_request' } });
  });
});

describe('request metrics', () => {
  it('label each request with its route pattern, not its path', async () => {
    const { api } = fakeApi();
    const seen: string[] = [];
    const server = await startApiServer(api, {
      host: '127.0.0.1',
      port: 0,
      apiKey: KEY,
      maxBodyBytes: 4096,
      onRequest: (method, route, status) => seen.push(`${method} ${route} ${status}`),
    });
    try {
      await (await fetch(`${server.url}/v1/tasks/abc`)).text();
      await (await fetch(`${server.url}/v1/memory/d/m?limit=0`)).text();
      await (await fetch(`${server.url}/nowhere`)).text();
      await waitForLength(seen, 3);
      expect(seen).toEqual(['GET /v1/tasks/:id 404', 'GET /v1/memory/:doc/:member 400', 'GET unknown 404']);
    } finally {
      await server.close();
    }
  });
});

/** The answer is read before the server's `finish` fires: waits a few turns for it. */
async function waitForLength(list: unknown[], n: number): Promise<void> {
  for (let i = 0; i < 100 && list.length < n; i++) await new Promise((r) => setTimeout(r, 10));
}
