import {
  createCoordinator,
  createMemoryStore,
  CoordinatorError,
  systemClock,
  taskIdPattern,
  type Coordinator,
} from '@meshwork/coordinator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpMcpClient, type McpTestClient } from './support/mcp-client.ts';
import { api, runCli, startDaemonProcess, tempDir, type DaemonProcess } from './support/processes.ts';
import { quietPresence } from './support/quiet-presence.ts';

interface ErrorBody {
  error: { code: string; message: string; field?: string };
}

/** A task as each entry point takes it; its input is data for a pull worker, so the node adds `executor:worker`. */
const base = { type: 'work', needs: ['executor:worker'], input: { n: 1 } };

/** One bad field each, and the field every entry point must name. */
const BAD: [string, Record<string, unknown>][] = [
  ['timeouts.runMs', { timeouts: { runMs: 0 } }],
  ['timeouts.scheduleToStartMs', { timeouts: { scheduleToStartMs: 1.5 } }],
  ['retry.maxAttempts', { retry: { maxAttempts: 0 } }],
  ['retry.backoff.factor', { retry: { backoff: { factor: 0.5 } } }],
  ['retry.backoffMs', { retry: { backoffMs: 100 } }],
  ['runTimeoutMs', { runTimeoutMs: 500 }],
  ['id', { id: 'a/b' }],
  ['id', { id: '..' }],
  ['dependsOn.1', { dependsOn: ['fine', 'not fine'] }],
  ['needs.1', { needs: ['executor:worker', 'no spaces'] }],
  ['priority', { priority: 1.5 }],
  ['resources.gpu', { resources: { gpu: 0 } }],
  ['idempotencyKey', { idempotencyKey: '' }],
];

/** The fields a submission chooses, as GET /v1/tasks/:id shows them. */
const chosen = (t: Record<string, unknown>) => ({
  type: t['type'],
  needs: t['needs'],
  input: t['input'],
  priority: t['priority'],
  dependsOn: t['dependsOn'],
  resources: t['resources'],
  retry: t['retry'],
  timeouts: t['timeouts'],
  idempotencyKey: t['idempotencyKey'],
});

/**
 * The library, the HTTP API, the MCP server and the CLI check a task against one schema: the
 * same bad task is refused naming the same field with the same message, and a task reads back
 * in the shape it was submitted in.
 */
describe('one task schema', () => {
  const dir = tempDir('task-schema');
  let daemon: DaemonProcess;
  let url: string;
  let mcp: McpTestClient;
  let library: Coordinator;

  beforeAll(async () => {
    daemon = await startDaemonProcess(dir, { name: 'schema-node', logLevel: 'silent' });
    url = daemon.info.url;
    mcp = await httpMcpClient(url);
    library = createCoordinator({ store: createMemoryStore('n', systemClock), presence: quietPresence });
  });
  afterAll(async () => {
    await mcp?.close().catch(() => undefined);
    await library?.stop({ drainMs: 0 });
    daemon?.child.kill('SIGTERM');
    await daemon?.exited;
  });

  it('refuses the same bad task with the same field and message from submit(), POST /v1/tasks and submit_task', async () => {
    for (const [field, bad] of BAD) {
      const task = { ...base, ...bad };
      let thrown: unknown;
      try {
        library.submit(task);
      } catch (e) {
        thrown = e;
      }
      expect(thrown, field).toBeInstanceOf(CoordinatorError);
      const err = thrown as CoordinatorError;
      expect({ code: err.code, field: err.field }, field).toEqual({ code: 'invalid_input', field });

      const http = await api<ErrorBody>(url, '/v1/tasks', { body: task });
      expect(http.status, field).toBe(400);
      // The HTTP API's code for the library's invalid_input, as for every refusal of the coordinator.
      expect(http.body.error).toEqual({ code: 'invalid_request', field, message: err.message });

      const refusal = await mcp.refused('submit_task', task);
      expect(refusal, field).toBe(`invalid_request (${field}): ${err.message.slice(field.length + 2)}`);
    }
    // Nothing was submitted anywhere.
    expect(library.list()).toEqual([]);
    expect((await api<{ items: unknown[] }>(url, '/v1/tasks')).body.items).toEqual([]);
  });

  it('refuses a workflow step with a bad task field, naming it, as the library does', async () => {
    const template = { name: 'w', steps: [{ id: 's', type: 'work', timeouts: { runMs: 0 } }] };
    const res = await api<ErrorBody>(url, '/v1/workflows', { body: { template } });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({
      code: 'invalid_request',
      field: 'template.steps[0].timeouts.runMs',
    });
  });

  it('refuses it in the CLI too, before sending, with the same message', async () => {
    const target = ['--data-dir', daemon.dataDir];
    const cli = await runCli(['task', 'submit', ...target, '--run-timeout', '0', '--', 'true']);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toContain('timeouts.runMs: must be a positive integer of ms or null');
    const body = JSON.stringify({ ...base, retry: { backoffMs: 5 } });
    const raw = await runCli(['task', 'submit', ...target, '--body', body]);
    expect(raw.code).toBe(1);
    expect(raw.stderr).toContain('retry.backoffMs: unknown field');
  });

  it('reads a task back as it was submitted, the same from every entry point, and takes the read-back as the same task', async () => {
    const full = {
      ...base,
      needs: ['executor:worker', 'gpu-box'],
      priority: 7,
      dependsOn: ['upstream'],
      resources: { 'no-such-pool': 1 },
      retry: { maxAttempts: 4, backoff: { initialMs: 100, factor: 3, maxMs: 2_000, jitter: 0 } },
      timeouts: { scheduleToStartMs: 600_000, runMs: 5_000 },
      idempotencyKey: 'key-1',
    };
    const viaHttp = await api<Record<string, unknown>>(url, '/v1/tasks', {
      body: { ...full, id: 'rt-http' },
    });
    expect(viaHttp.status).toBe(201);
    await mcp.ok('submit_task', { ...full, id: 'rt-mcp' });
    const fromMcp = (await api<Record<string, unknown>>(url, '/v1/tasks/rt-mcp')).body;
    const fromHttp = (await api<Record<string, unknown>>(url, '/v1/tasks/rt-http')).body;
    const { spec } = library.get(library.submit({ ...full, id: 'rt-lib' }))!;

    expect(chosen(fromHttp)).toEqual(full);
    expect(chosen(fromMcp)).toEqual(full);
    expect(chosen(spec as unknown as Record<string, unknown>)).toEqual(full);

    // What a read shows is a submission: sent back, it is the same task, not a conflict.
    const again = await api(url, '/v1/tasks', { body: { ...chosen(fromHttp), id: 'rt-http' } });
    expect(again.status).toBe(201);
    // Defaults are filled in as the library fills them.
    const plain = (
      await api<Record<string, unknown>>(url, '/v1/tasks', { body: { ...base, id: 'rt-plain' } })
    ).body;
    const { spec: plainSpec } = library.get(library.submit({ ...base, id: 'rt-plain' }))!;
    expect(chosen(plain)).toEqual({
      ...chosen(plainSpec as unknown as Record<string, unknown>),
      idempotencyKey: 'rt-plain',
    });
  });

  it('documents the one shape in /openapi.json', async () => {
    type Schema = {
      properties: Record<string, Schema & { pattern?: string }>;
      additionalProperties?: boolean;
    };
    const doc = (await api<{ paths: Record<string, Record<string, unknown>> }>(url, '/openapi.json')).body;
    const post = doc.paths['/v1/tasks']!['post'] as {
      requestBody: { content: { 'application/json': { schema: Schema } } };
    };
    const body = post.requestBody.content['application/json'].schema;
    expect(Object.keys(body.properties).sort()).toEqual(
      [
        'id',
        'type',
        'needs',
        'input',
        'priority',
        'dependsOn',
        'resources',
        'retry',
        'timeouts',
        'idempotencyKey',
      ].sort(),
    );
    expect(Object.keys(body.properties['retry']!.properties)).toEqual(['maxAttempts', 'backoff']);
    expect(Object.keys(body.properties['retry']!.properties['backoff']!.properties)).toEqual([
      'initialMs',
      'factor',
      'maxMs',
      'jitter',
    ]);
    expect(Object.keys(body.properties['timeouts']!.properties)).toEqual(['scheduleToStartMs', 'runMs']);
    expect(body.properties['id']!.pattern).toBe(taskIdPattern.source);
    expect(body.additionalProperties).toBe(false);
  });

  it('serves every id the rule allows as one path segment, escaped or not', async () => {
    const id = 'Job_1.part:2-x';
    expect((await api(url, '/v1/tasks', { body: { ...base, id } })).status).toBe(201);
    for (const path of [`/v1/tasks/${id}`, `/v1/tasks/${encodeURIComponent(id)}`])
      expect((await api<{ id: string }>(url, path)).body.id).toBe(id);
    // A slash is never in an id: escaped, it names no task (and breaks nothing).
    expect((await api(url, `/v1/tasks/${encodeURIComponent('a/b')}`)).status).toBe(404);
    const cancelled = await api<{ status: string }>(url, `/v1/tasks/${id}/cancel`, { body: {} });
    expect(cancelled.body.status).toBe('cancelled');
  });
});
