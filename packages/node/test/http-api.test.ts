import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.ts';
import { startDaemon, type Daemon } from '../src/daemon.ts';
import { api, tempDir } from './support/processes.ts';

interface ErrorBody {
  error: { code: string; message: string; field?: string };
}
interface Page {
  items: { id: string }[];
  nextCursor: string | null;
}
type Operation = {
  parameters?: { name: string; in: string }[];
  requestBody?: { content: { 'application/json': { schema: object } } };
  responses: Record<string, { content?: Record<string, { schema: object }> }>;
};
interface OpenApi {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
}

/** A daemon with no agents: every submitted task stays pending. */
describe('the HTTP API of a daemon', () => {
  let daemon: Daemon;
  const dir = tempDir('http-api');
  beforeAll(async () => {
    daemon = await startDaemon(
      parseConfig(
        {
          name: 'conventions',
          dataDir: join(dir, 'data'),
          apiKey: 'test-api-key-0123456789abcdef',
          http: { port: 0 },
          logLevel: 'silent',
          workflows: { one: { name: 'one', steps: [{ id: 's', type: 'x', input: {} }] } },
        },
        dir,
      ),
    );
  });
  afterAll(() => daemon.stop());
  const task = (id: string, argv = ['true']) => ({ id, input: { executor: 'shell', argv } });

  it('serves a valid OpenAPI 3.1 document of every route, and example requests conform to it', async () => {
    const res = await api<OpenApi>(daemon.url, '/openapi.json', { key: null });
    expect(res.status).toBe(200);
    const doc = res.body;
    const checked = await new Validator().validate(doc as unknown as Record<string, unknown>);
    expect(checked.errors ?? []).toEqual([]);
    expect(checked.valid).toBe(true);
    expect(doc.openapi).toBe('3.1.0');

    const expected: [string, string][] = [
      ['get', '/healthz'],
      ['get', '/readyz'],
      ['get', '/metrics'],
      ['get', '/openapi.json'],
      ['get', '/v1/status'],
      ['get', '/v1/peers'],
      ['get', '/v1/agents'],
      ['get', '/v1/tasks'],
      ['post', '/v1/tasks'],
      ['get', '/v1/tasks/{id}'],
      ['get', '/v1/tasks/{id}/history'],
      ['post', '/v1/tasks/{id}/cancel'],
      ['get', '/v1/workflows'],
      ['get', '/v1/workflows/templates'],
      ['post', '/v1/workflows'],
      ['get', '/v1/workflows/{id}'],
      ['get', '/v1/memory'],
      ['get', '/v1/memory/{doc}'],
      ['put', '/v1/memory/{doc}'],
      ['get', '/v1/memory/{doc}/{member}'],
      ['put', '/v1/memory/{doc}/{member}'],
      ['post', '/v1/memory/{doc}/{member}'],
      ['get', '/v1/events'],
      ['post', '/v1/workers'],
      ['get', '/v1/workers'],
      ['delete', '/v1/workers/{id}'],
      ['post', '/v1/workers/{id}/heartbeat'],
      ['post', '/v1/workers/{id}/poll'],
      ['post', '/v1/workers/{id}/tasks/{task}/progress'],
      ['post', '/v1/workers/{id}/tasks/{task}/complete'],
      ['post', '/v1/workers/{id}/tasks/{task}/fail'],
      ['post', '/mcp'],
      ['get', '/mcp'],
      ['delete', '/mcp'],
      ['post', '/v1/admin/reload'],
      ['get', '/v1/mesh'],
      ['get', '/v1/activity'],
      ['get', '/ui'],
      ['get', '/ui/'],
      ['get', '/ui/{file}'],
    ];
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((method): [string, string] => [method, path]),
    );
    expect(documented.sort()).toEqual(expected.sort());
    for (const [method, path] of documented) {
      const op = doc.paths[path]![method]!;
      // Path parameters are named; every route documents its error body.
      for (const name of [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]))
        expect(op.parameters).toContainEqual(expect.objectContaining({ name, in: 'path' }));
      expect(op.responses['default']?.content?.['application/json']?.schema).toEqual({
        $ref: '#/components/schemas/Error',
      });
    }
    expect(doc.paths['/v1/tasks']!.get!.parameters!.map((p) => p.name).sort()).toEqual([
      'cursor',
      'limit',
      'status',
    ]);

    // Example requests: each conforms to the document and the daemon takes it.
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    const bodySchema = (method: string, path: string) =>
      doc.paths[path]![method]!.requestBody!.content['application/json'].schema;
    const examples: [string, string, string, unknown][] = [
      ['post', '/v1/tasks', '/v1/tasks', { ...task('example'), priority: 3, retry: { maxAttempts: 2 } }],
      ['post', '/v1/workflows', '/v1/workflows', { template: 'one' }],
      ['put', '/v1/memory/{doc}', '/v1/memory/notes', {}],
      [
        'post',
        '/v1/memory/{doc}/{member}',
        '/v1/memory/notes/tags',
        { type: 'orset', op: 'add', values: ['a'] },
      ],
      ['put', '/v1/memory/{doc}/{member}', '/v1/memory/notes/owner', { type: 'lww', value: 'me' }],
      ['post', '/v1/workers', '/v1/workers', { id: 'example-worker', capabilities: ['x'] }],
    ];
    for (const [method, path, url, body] of examples) {
      const validate = ajv.compile(bodySchema(method, path));
      expect(validate(body), `${method} ${path}: ${ajv.errorsText(validate.errors)}`).toBe(true);
      const answer = await api(daemon.url, url, { method: method.toUpperCase(), body });
      expect(answer.status, `${method} ${url}`).toBeLessThan(300);
    }
    // And the document refuses what the daemon refuses.
    const submit = ajv.compile(bodySchema('post', '/v1/tasks'));
    expect(submit({ input: { executor: 'shell' }, colour: 'red' })).toBe(false);
    expect(submit({ input: 1, priority: 'high' })).toBe(false);

    // An answer conforms to its documented response schema.
    const list = await api(daemon.url, '/v1/tasks?limit=1');
    const page = ajv.compile(
      doc.paths['/v1/tasks']!.get!.responses['200']!.content!['application/json']!.schema,
    );
    expect(page(list.body), ajv.errorsText(page.errors)).toBe(true);
  });

  it('pages tasks with a cursor that neither skips nor repeats while tasks are submitted between pages', async () => {
    const first: string[] = [];
    for (let i = 0; i < 23; i++) {
      const id = `page-${String(i).padStart(2, '0')}`;
      expect((await api(daemon.url, '/v1/tasks', { body: task(id) })).status).toBe(201);
      first.push(id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor === null ? '' : `&cursor=${cursor}`;
      const res: { status: number; body: Page } = await api<Page>(daemon.url, `/v1/tasks?limit=5${query}`);
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(5);
      seen.push(...res.body.items.map((t) => t.id));
      cursor = res.body.nextCursor;
      // Others submit while the client pages.
      await Promise.all(
        [0, 1, 2].map((j) => api(daemon.url, '/v1/tasks', { body: task(`between-${pages}-${j}`) })),
      );
      pages++;
    } while (cursor !== null);
    expect(new Set(seen).size).toBe(seen.length);
    const listed = seen.filter((id) => first.includes(id));
    // Newest first: the tasks there were before paging began, each once, in reverse order.
    expect(listed).toEqual([...first].reverse());

    const bad = await api<ErrorBody>(daemon.url, '/v1/tasks?cursor=bm9wZQ');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'invalid_request', field: 'cursor' });
  });

  it('pages workflow runs by id while runs start between pages', async () => {
    const first = ['wf-a', 'wf-b', 'wf-c', 'wf-d', 'wf-e'];
    for (const id of first)
      expect((await api(daemon.url, '/v1/workflows', { body: { template: 'one', id } })).status).toBe(201);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor === null ? '' : `&cursor=${cursor}`;
      const res: { body: Page } = await api<Page>(daemon.url, `/v1/workflows?limit=2${query}`);
      seen.push(...res.body.items.map((w) => w.id));
      cursor = res.body.nextCursor;
      await api(daemon.url, '/v1/workflows', { body: { template: 'one', id: `wf-${pages}-new` } });
      pages++;
    } while (cursor !== null);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.filter((id) => first.includes(id))).toEqual(first);
    expect(pages).toBeGreaterThanOrEqual(3);
  });

  it('answers a resubmitted id with the same body as before, and with another body 409 naming the field', async () => {
    const created = await api<{ id: string; input: unknown }>(daemon.url, '/v1/tasks', {
      body: task('same', ['echo', 'a']),
    });
    expect(created.status).toBe(201);
    const again = await api<{ id: string; input: unknown }>(daemon.url, '/v1/tasks', {
      body: task('same', ['echo', 'a']),
    });
    expect(again.status).toBe(201);
    expect(again.body).toEqual(created.body);

    const cases: [unknown, string][] = [
      [task('same', ['echo', 'b']), 'input'],
      [{ ...task('same', ['echo', 'a']), priority: 9 }, 'priority'],
      [{ ...task('same', ['echo', 'a']), timeouts: { runMs: 5_000 } }, 'timeouts'],
      [{ ...task('same', ['echo', 'a']), needs: ['gpu'] }, 'needs'],
    ];
    for (const [body, field] of cases) {
      const res = await api<ErrorBody>(daemon.url, '/v1/tasks', { body });
      expect(res.status).toBe(409);
      expect(res.body.error).toMatchObject({ code: 'task_conflict', field });
      expect(res.body.error.message).toContain(field);
    }
    expect((await api(daemon.url, '/v1/tasks/same')).body).toMatchObject({
      input: { argv: ['echo', 'a'] },
      priority: 0,
    });
  });
});
