import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.ts';
import { startDaemon, type Daemon } from '../src/daemon.ts';
import { httpMcpClient, type McpTestClient } from './support/mcp-client.ts';
import { api, API_KEY, CLI, freePort, sleep, tempDir, waitFor } from './support/processes.ts';

interface Assignment {
  taskId: string;
  epoch: number;
  attempt: number;
  idempotencyKey: string;
  input: unknown;
}
interface Task {
  id: string;
  status: string;
  epoch: number;
  attempts: number;
  agent: string | null;
  result: unknown;
  progress: unknown;
  history: { epoch: number; agent: string; outcome: string }[];
}
interface Next {
  tasks: Assignment[];
  retryAfterMs: number | null;
}

const TOOLS = {
  register_agent: [false, false, true, false],
  next_task: [false, false, false, false],
  report_progress: [false, false, true, false],
  complete_task: [false, false, true, false],
  fail_task: [false, false, true, false],
  heartbeat: [false, false, false, false],
  unregister_agent: [false, true, true, false],
  submit_task: [false, false, false, true],
  start_workflow: [false, false, false, true],
  get_task: [true, false, true, false],
  list_tasks: [true, false, true, false],
  cancel_task: [false, true, true, false],
  get_workflow: [true, false, true, false],
  list_agents: [true, false, true, false],
  memory_list: [true, false, true, false],
  memory_get: [true, false, true, false],
  memory_query: [true, false, true, false],
  memory_put: [false, true, false, false],
} as const;

/** The MCP server of one real daemon, through the SDK's own client over Streamable HTTP. */
describe('MCP server', () => {
  let daemon: Daemon;
  const dir = tempDir('mcp');
  const leaseMs = 1_000;
  const clients: McpTestClient[] = [];
  const connect = async (key: string | null = API_KEY): Promise<McpTestClient> => {
    const c = await httpMcpClient(daemon.url, key);
    clients.push(c);
    return c;
  };
  /** A session registered as agent `id` with one capability, and a heartbeat as a real agent would send. */
  const agent = async (id: string, capability: string) => {
    const c = await connect();
    await c.ok('register_agent', { id, capabilities: [capability] });
    return c;
  };
  const task = async (id: string) => (await api<Task>(daemon.url, `/v1/tasks/${id}`)).body;
  const submit = (c: McpTestClient, id: string, capability: string, input: unknown = { n: 1 }) =>
    c.ok<Task>('submit_task', { id, needs: [capability], input });

  beforeAll(async () => {
    daemon = await startDaemon(
      parseConfig(
        {
          name: 'mcp-node',
          dataDir: join(dir, 'data'),
          apiKey: API_KEY,
          http: { port: 0, maxBodyBytes: 64 * 1024 },
          logLevel: 'silent',
          workers: { leaseMs, maxWaitMs: 10_000, maxWorkers: 32, maxResultBytes: 2_048 },
          mcp: { maxSessions: 16 },
        },
        dir,
      ),
    );
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await daemon.stop();
  });

  it('lists every tool with its input and output schemas and honest annotations', async () => {
    const c = await connect();
    const { tools } = await c.client.listTools();
    const byName = new Map<string, Tool>(tools.map((t) => [t.name, t]));
    expect([...byName.keys()].sort()).toEqual(Object.keys(TOOLS).sort());
    for (const [name, [readOnly, destructive, idempotent, openWorld]] of Object.entries(TOOLS)) {
      const tool = byName.get(name)!;
      expect({ name, ...tool.annotations }).toMatchObject({
        name,
        readOnlyHint: readOnly,
        destructiveHint: destructive,
        idempotentHint: idempotent,
        openWorldHint: openWorld,
      });
      expect(tool.description?.length).toBeGreaterThan(40);
      expect(tool.inputSchema.type).toBe('object');
      expect(tool.outputSchema?.type).toBe('object');
      expect(tool.execution?.taskSupport).toBe(
        name === 'submit_task' || name === 'start_workflow' ? 'optional' : 'forbidden',
      );
    }
    // Inputs are closed and name what they need.
    const input = (name: string) =>
      byName.get(name)!.inputSchema as {
        properties: Record<string, { type?: string; maximum?: number }>;
        required?: string[];
        additionalProperties?: boolean;
      };
    expect(input('complete_task').required).toEqual(expect.arrayContaining(['taskId', 'epoch']));
    expect(input('complete_task').additionalProperties).toBe(false);
    expect(input('next_task').properties.waitMs).toMatchObject({ type: 'integer', maximum: 60_000 });
    expect(input('submit_task').properties.waitMs).toMatchObject({ type: 'integer', maximum: 50_000 });
    expect(input('memory_put').required).toEqual(['document', 'member', 'operation']);
    expect(input('memory_query').properties).toHaveProperty('vertex');
    expect(input('memory_query').properties).toHaveProperty('series');
    expect(byName.get('next_task')!.outputSchema?.properties).toHaveProperty('retryAfterMs');
    // The MCP Tasks extension for tool calls, and the resources.
    expect(c.client.getServerCapabilities()).toMatchObject({
      tools: {},
      resources: {},
      tasks: { cancel: {}, requests: { tools: { call: {} } } },
    });
    const { resourceTemplates } = await c.client.listResourceTemplates();
    expect(resourceTemplates.map((t) => t.uriTemplate).sort()).toEqual([
      'meshwork://agents/{id}',
      'meshwork://tasks/{id}',
      'meshwork://workflows/{id}',
    ]);
  });

  it('runs an agent loop: register, next_task, report_progress, complete_task; any call renews the lease', async () => {
    const worker = await agent('loop-agent', 'cap-loop');
    const boss = await connect();
    const submitted = await submit(boss, 'loop-1', 'cap-loop', { n: 41 });
    expect(submitted).toMatchObject({ id: 'loop-1', status: 'pending' });
    const next = await worker.ok<Next>('next_task', { waitMs: 5_000 });
    expect(next.retryAfterMs).toBeNull();
    expect(next.tasks).toEqual([
      expect.objectContaining({
        taskId: 'loop-1',
        epoch: 1,
        attempt: 1,
        idempotencyKey: 'loop-1',
        input: { n: 41 },
      }),
    ]);
    // Reads only, for more than two leases: each call renews the registration.
    const until = Date.now() + 2.5 * leaseMs;
    while (Date.now() < until) {
      await worker.ok('memory_list');
      await sleep(leaseMs / 4);
    }
    expect(await worker.ok('report_progress', { taskId: 'loop-1', epoch: 1, data: { done: 0.5 } })).toEqual({
      taskId: 'loop-1',
      epoch: 1,
      outcome: 'running',
    });
    await waitFor('the progress to show', 5_000, async () =>
      (await task('loop-1')).progress !== null ? true : undefined,
    );
    expect(await worker.ok('complete_task', { taskId: 'loop-1', epoch: 1, result: { n: 42 } })).toEqual({
      taskId: 'loop-1',
      epoch: 1,
      outcome: 'succeeded',
    });
    // The same verdict again gets the same answer.
    expect(await worker.ok('complete_task', { taskId: 'loop-1', epoch: 1, result: { n: 42 } })).toMatchObject(
      {
        outcome: 'succeeded',
      },
    );
    const done = await waitFor('loop-1 to succeed', 5_000, async () => {
      const t = await task('loop-1');
      return t.status === 'succeeded' ? t : undefined;
    });
    expect(done).toMatchObject({
      epoch: 1,
      attempts: 1,
      agent: 'loop-agent',
      result: { n: 42 },
      progress: { done: 0.5 },
    });
    // Nothing waits: an empty answer says when to ask again.
    const empty = await worker.ok<Next>('next_task', { waitMs: 0 });
    expect(empty.tasks).toEqual([]);
    expect(empty.retryAfterMs).toBeGreaterThan(0);
    const beat = await worker.ok<{ tasks: unknown[]; aborted: unknown[] }>('heartbeat');
    expect(beat).toMatchObject({ tasks: [], aborted: [] });
    const agents = await boss.ok<{ agents: { id: string; live: boolean; metadata: { via?: string } }[] }>(
      'list_agents',
    );
    expect(agents.agents.find((a) => a.id === 'loop-agent')).toMatchObject({
      live: true,
      metadata: { via: 'mcp' },
    });
  });

  it('refuses bad input with an error naming the field, and changes nothing', async () => {
    const c = await connect();
    const before = (await api<{ items: Task[] }>(daemon.url, '/v1/tasks?limit=10000')).body.items.length;
    // Checked against the input schema.
    expect(await c.refused('next_task', { waitMs: 'soon' })).toMatch(/waitMs/);
    expect(await c.refused('next_task', { waitMs: 120_000 })).toMatch(/waitMs/);
    expect(await c.refused('complete_task', { taskId: 't' })).toMatch(/epoch/);
    expect(await c.refused('complete_task', { taskId: 't', epoch: 0 })).toMatch(/epoch/);
    expect(await c.refused('submit_task', { input: {}, bogus: 1 })).toMatch(/bogus/);
    expect(await c.refused('submit_task', { input: {}, priority: 5_000 })).toMatch(/priority/);
    expect(await c.refused('submit_task', { input: { executor: 'shell', argv: 'ls' } })).toMatch(
      /input\.argv/,
    );
    expect(await c.refused('register_agent', { id: 'has space' })).toMatch(/\bid\b/);
    expect(
      await c.refused('memory_put', { document: 'd', member: 'm', operation: { type: 'nope' } }),
    ).toMatch(/operation/);
    const many = Array.from({ length: 10_001 }, (_, i) => i);
    expect(
      await c.refused('memory_put', {
        document: 'd',
        member: 'm',
        operation: { type: 'orset', op: 'add', values: many },
      }),
    ).toMatch(/operation\.values/);
    // Checked by the node, with its typed refusals.
    let deep: unknown = 'bottom';
    for (let i = 0; i < 100; i++) deep = [deep];
    expect(
      await c.refused('memory_put', {
        document: 'bad-input',
        member: 'm',
        operation: { type: 'lww', op: 'set', value: deep },
      }),
    ).toMatch(/^limit_exceeded \(value\): /);
    expect(
      await c.refused('memory_put', {
        document: 'has space',
        member: 'm',
        operation: { type: 'lww', op: 'set', value: 1 },
      }),
    ).toMatch(/^invalid_request \(document\): /);
    expect(await c.refused('memory_get', { document: 'no-such-doc', member: 'm' })).toMatch(
      /^not_found \(document\): /,
    );
    expect(await c.refused('get_task', { id: 'no-such-task' })).toMatch(
      /^not_found \(id\): no task no-such-task/,
    );
    expect(await c.refused('cancel_task', { id: 'no-such-task' })).toMatch(/^not_found \(id\)/);
    expect(await c.refused('get_workflow', { id: 'no-such-run' })).toMatch(/^not_found \(id\)/);
    expect(await c.refused('start_workflow', { template: 'no-such-template' })).toMatch(
      /^invalid_request \(template\): no template named no-such-template/,
    );
    // Agent tools without an agent.
    for (const tool of ['next_task', 'heartbeat', 'unregister_agent'])
      expect(await c.refused(tool)).toMatch(
        /^no_agent: this session has no agent: call register_agent first/,
      );
    expect(await c.refused('complete_task', { taskId: 't', epoch: 1 })).toMatch(/^no_agent/);
    // A body past http.maxBodyBytes never reaches a tool.
    await expect(
      c.call('memory_put', {
        document: 'bad-input',
        member: 'big',
        operation: { type: 'lww', op: 'set', value: 'x'.repeat(100 * 1024) },
      }),
    ).rejects.toThrow(/body_too_large/);
    // Nothing changed.
    expect((await api<{ items: Task[] }>(daemon.url, '/v1/tasks?limit=10000')).body.items.length).toBe(
      before,
    );
    expect(await c.refused('memory_get', { document: 'bad-input', member: 'm' })).toMatch(/^not_found/);
    expect(await c.ok('memory_list')).not.toMatchObject({
      documents: [expect.objectContaining({ name: 'bad-input' })],
    });
  });

  it('refuses reports about attempts the agent does not hold, and oversized results, changing nothing', async () => {
    const holder = await agent('fence-holder', 'cap-fence');
    const other = await agent('fence-other', 'cap-fence-other');
    await submit(other, 'fence-1', 'cap-fence');
    const [mine] = (await holder.ok<Next>('next_task', { waitMs: 5_000 })).tasks;
    expect(mine).toMatchObject({ taskId: 'fence-1', epoch: 1 });
    // Another agent's report about it, a wrong epoch, a result past workers.maxResultBytes.
    expect(await other.refused('complete_task', { taskId: 'fence-1', epoch: 1, result: 'theirs' })).toMatch(
      /^not_held \(taskId\): worker w-\w+ does not hold task fence-1: it is (claimed|running) \(agent fence-holder, epoch 1\)/,
    );
    expect(await holder.refused('complete_task', { taskId: 'fence-1', epoch: 2, result: 'x' })).toMatch(
      /^stale_attempt \(epoch\): this worker holds task fence-1 at epoch 1, not 2/,
    );
    expect(
      await holder.refused('complete_task', { taskId: 'fence-1', epoch: 1, result: 'x'.repeat(4_096) }),
    ).toMatch(/^limit_exceeded \(result\): \d+ bytes encoded, more than workers.maxResultBytes \(2048\)/);
    expect(
      await holder.refused('report_progress', { taskId: 'fence-1', epoch: 1, data: 'x'.repeat(4_096) }),
    ).toMatch(/^limit_exceeded \(data\)/);
    const unchanged = await task('fence-1');
    expect(['claimed', 'running']).toContain(unchanged.status);
    expect(unchanged).toMatchObject({
      agent: 'fence-holder',
      result: null,
      progress: null,
    });
    await holder.ok('complete_task', { taskId: 'fence-1', epoch: 1, result: 'mine' });
    expect(
      await waitFor('fence-1 to succeed', 5_000, async () => {
        const t = await task('fence-1');
        return t.status === 'succeeded' ? t : undefined;
      }),
    ).toMatchObject({ result: 'mine', attempts: 1 });
    // One agent per session.
    expect(await holder.refused('register_agent', { id: 'another-id' })).toMatch(/^session_has_agent \(id\)/);
    expect(
      await holder.ok('register_agent', { id: 'fence-holder', capabilities: ['cap-fence'] }),
    ).toMatchObject({
      agentId: 'fence-holder',
    });
  });

  it('gives a session without the key reads only, and keeps a keyed session to its key', async () => {
    const reader = await connect(null);
    expect(await reader.ok('list_tasks', { limit: 5 })).toHaveProperty('tasks');
    expect(await reader.ok('memory_list')).toHaveProperty('documents');
    for (const [tool, args] of [
      ['submit_task', { input: { n: 1 } }],
      ['register_agent', { id: 'no-key-agent' }],
      ['memory_put', { document: 'no-key', member: 'm', operation: { type: 'lww', op: 'set', value: 1 } }],
      ['cancel_task', { id: 'loop-1' }],
    ] as const)
      expect(await reader.refused(tool, args)).toMatch(new RegExp(`^unauthorized: ${tool} changes the mesh`));
    expect(await reader.refused('memory_get', { document: 'no-key', member: 'm' })).toMatch(/^not_found/);

    // The raw protocol: a keyed session's requests need the key; unknown sessions and foreign pages are refused.
    const keyed = await connect();
    const sessionId = (keyed.client.transport as StreamableHTTPClientTransport).sessionId!;
    const post = (
      headers: Record<string, string>,
      body: unknown = { jsonrpc: '2.0', id: 1, method: 'tools/list' },
    ) =>
      fetch(`${daemon.url}/mcp`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          ...headers,
        },
        body: JSON.stringify(body),
      });
    const noKey = await post({ 'mcp-session-id': sessionId });
    expect(noKey.status).toBe(401);
    expect(((await noKey.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    const unknown = await post({ 'mcp-session-id': 'no-such-session', authorization: `Bearer ${API_KEY}` });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32001 } });
    expect((await post({ authorization: `Bearer ${API_KEY}` })).status).toBe(400);
    const foreign = await post({
      origin: 'https://evil.example',
      'mcp-session-id': sessionId,
      authorization: `Bearer ${API_KEY}`,
    });
    expect(foreign.status).toBe(403);
    expect(
      await (await post({ 'mcp-session-id': sessionId, authorization: `Bearer ${API_KEY}` })).text(),
    ).toContain('register_agent');
  });

  it('refuses a session past mcp.maxSessions with 429, and ends sessions on DELETE', async () => {
    const extra: McpTestClient[] = [];
    let metrics: string;
    try {
      const error = await (async () => {
        for (;;) {
          try {
            extra.push(await httpMcpClient(daemon.url));
          } catch (err) {
            return err as Error;
          }
        }
      })();
      expect(error.message).toMatch(
        /too_many_sessions.*16 MCP sessions are open \(limit mcp\.maxSessions = 16\)/,
      );
      metrics = (await api<string>(daemon.url, '/metrics')).body;
      expect(metrics).toMatch(/^meshwork_mcp_sessions 16$/m);
    } finally {
      await Promise.all(extra.map((c) => c.close()));
    }
    await waitFor('the sessions to end', 5_000, async () =>
      /^meshwork_mcp_sessions \d$/m.test((await api<string>(daemon.url, '/metrics')).body) ? true : undefined,
    );
    expect(metrics).toMatch(/^meshwork_mcp_tool_calls_total\{tool="complete_task",outcome="not_held"\} 1$/m);
  });

  it('ends an agent with its session: the task it held goes to another agent at once', async () => {
    const first = await httpMcpClient(daemon.url);
    await first.ok('register_agent', { id: 'leaving-agent', capabilities: ['cap-leave'] });
    const boss = await connect();
    await submit(boss, 'leave-1', 'cap-leave');
    expect((await first.ok<Next>('next_task', { waitMs: 5_000 })).tasks).toMatchObject([
      { taskId: 'leave-1', epoch: 1 },
    ]);
    const second = await agent('staying-agent', 'cap-leave');
    await first.close();
    expect(daemon.workers.list().some((w) => w.agentId === 'leaving-agent')).toBe(false);
    const [moved] = (await second.ok<Next>('next_task', { waitMs: 5_000 })).tasks;
    expect(moved).toMatchObject({ taskId: 'leave-1', epoch: 2, attempt: 2 });
    await second.ok('complete_task', { taskId: 'leave-1', epoch: 2, result: 'second' });
    const history = await waitFor('the handover in the archive', 5_000, async () => {
      const rows = (await api<Task['history']>(daemon.url, '/v1/tasks/leave-1/history')).body;
      return rows.length === 2 && rows[1]!.outcome === 'succeeded' ? rows : undefined;
    });
    expect(history).toMatchObject([
      { epoch: 1, agent: 'leaving-agent', outcome: 'released' },
      { epoch: 2, agent: 'staying-agent', outcome: 'succeeded' },
    ]);
  });

  it('stops renewing the lease of an agent whose client hangs up during next_task', async () => {
    const c = await connect();
    const session = await c.ok<{ workerId: string }>('register_agent', {
      id: 'hang-up-agent',
      capabilities: ['cap-hang'],
    });
    const sessionId = (c.client.transport as StreamableHTTPClientTransport).sessionId!;
    const hangUp = new AbortController();
    const waiting = fetch(`${daemon.url}/mcp`, {
      method: 'POST',
      signal: hangUp.signal,
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        authorization: `Bearer ${API_KEY}`,
        'mcp-session-id': sessionId,
        'mcp-protocol-version': '2025-11-25',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 'long-poll',
        method: 'tools/call',
        params: { name: 'next_task', arguments: { waitMs: 10_000 } },
      }),
    });
    const response = await waiting;
    expect(response.status).toBe(200);
    await sleep(200);
    hangUp.abort();
    // Without calls, the registration ends after a lease, long before the 10 s wait would have.
    await waitFor('the silent agent to expire', 4 * leaseMs, () =>
      daemon.workers.list().some((w) => w.workerId === session.workerId) ? undefined : true,
    );
    expect(await c.refused('next_task', { waitMs: 0 })).toMatch(/^worker_expired \(workerId\)/);
    // It may register again at once.
    expect(await c.ok('register_agent', { id: 'hang-up-agent' })).toMatchObject({ agentId: 'hang-up-agent' });
  });

  it('runs submit_task and start_workflow as MCP tasks that any session can follow', async () => {
    const boss = await connect();
    const watcher = await connect(null);
    const worker = await agent('mcp-task-agent', 'cap-mcp-task');
    const stream = boss.client.experimental.tasks.callToolStream(
      { name: 'submit_task', arguments: { id: 'as-mcp-task', needs: ['cap-mcp-task'], input: { n: 7 } } },
      CallToolResultSchema,
      { task: { ttl: 60_000 } },
    );
    const first = await stream.next();
    expect(first.value).toMatchObject({
      type: 'taskCreated',
      task: {
        taskId: 'meshwork://tasks/as-mcp-task',
        status: 'working',
        statusMessage: 'pending: waiting for an agent',
      },
    });
    // Another session, without the key, follows it by its id.
    expect(await watcher.client.experimental.tasks.getTask('meshwork://tasks/as-mcp-task')).toMatchObject({
      status: 'working',
    });
    const [assigned] = (await worker.ok<Next>('next_task', { waitMs: 5_000 })).tasks;
    await worker.ok('complete_task', { taskId: assigned!.taskId, epoch: assigned!.epoch, result: { n: 8 } });
    let last: unknown;
    for await (const message of stream) last = message;
    expect(last).toMatchObject({
      type: 'result',
      result: { structuredContent: { id: 'as-mcp-task', status: 'succeeded', result: { n: 8 } } },
    });
    expect(await watcher.client.experimental.tasks.getTask('meshwork://tasks/as-mcp-task')).toMatchObject({
      status: 'completed',
      statusMessage: 'succeeded on mcp-task-agent',
    });
    expect(
      await watcher.client.experimental.tasks.getTaskResult(
        'meshwork://tasks/as-mcp-task',
        CallToolResultSchema,
      ),
    ).toMatchObject({
      structuredContent: { id: 'as-mcp-task', status: 'succeeded' },
    });

    // Cancelling an MCP task cancels the Meshwork task, with the key only.
    const pending = boss.client.experimental.tasks.callToolStream(
      { name: 'submit_task', arguments: { id: 'to-cancel', needs: ['cap-nobody'], input: {} } },
      CallToolResultSchema,
      { task: {} },
    );
    expect((await pending.next()).value).toMatchObject({ type: 'taskCreated' });
    await expect(watcher.client.experimental.tasks.cancelTask('meshwork://tasks/to-cancel')).rejects.toThrow(
      /unauthorized/,
    );
    expect(await task('to-cancel')).toMatchObject({ status: 'pending' });
    expect(await boss.client.experimental.tasks.cancelTask('meshwork://tasks/to-cancel')).toMatchObject({
      status: 'cancelled',
    });
    expect(await task('to-cancel')).toMatchObject({ status: 'cancelled' });
    await pending.return();

    // A workflow run, the same way.
    const run = boss.client.experimental.tasks.callToolStream(
      {
        name: 'start_workflow',
        arguments: {
          id: 'mcp-run',
          template: {
            name: 'mcp-flow',
            steps: [{ id: 'only', type: 'flow-step', needs: ['executor:worker', 'cap-mcp-task'], input: {} }],
          },
        },
      },
      CallToolResultSchema,
      { task: {} },
    );
    expect((await run.next()).value).toMatchObject({
      type: 'taskCreated',
      task: { taskId: 'meshwork://workflows/mcp-run' },
    });
    const [step] = (await worker.ok<Next>('next_task', { waitMs: 5_000 })).tasks;
    await worker.ok('complete_task', { taskId: step!.taskId, epoch: step!.epoch, result: 'done' });
    let end: unknown;
    for await (const message of run) end = message;
    expect(end).toMatchObject({
      type: 'result',
      result: { structuredContent: { id: 'mcp-run', status: 'succeeded', steps: { only: 'succeeded' } } },
    });
    const [resource] = (await watcher.client.readResource({ uri: 'meshwork://workflows/mcp-run' })).contents;
    expect(JSON.parse('text' in resource! ? resource.text : '')).toMatchObject({
      status: 'succeeded',
    });
    await expect(watcher.client.readResource({ uri: 'meshwork://tasks/no-such-task' })).rejects.toThrow(
      /no task/,
    );
  });

  it('waits a bounded time in a plain call, with progress notifications', async () => {
    const boss = await connect();
    const worker = await agent('progress-agent', 'cap-progress');
    const notes: string[] = [];
    const call = boss.client.callTool(
      {
        name: 'submit_task',
        arguments: { id: 'waited', needs: ['cap-progress'], input: {}, waitMs: 10_000 },
      },
      CallToolResultSchema,
      { onprogress: (p) => notes.push(p.message ?? '') },
    );
    const [held] = (await worker.ok<Next>('next_task', { waitMs: 5_000 })).tasks;
    await worker.ok('report_progress', { taskId: 'waited', epoch: held!.epoch, data: { step: 'halfway' } });
    await waitFor('the progress notification', 5_000, () =>
      notes.some((n) => n.includes('halfway')) ? true : undefined,
    );
    await worker.ok('complete_task', { taskId: 'waited', epoch: held!.epoch, result: 'ok' });
    const result = await call;
    expect(result.structuredContent).toMatchObject({ id: 'waited', status: 'succeeded', result: 'ok' });
    expect(notes[0]).toBe('pending: waiting for an agent');
    expect(notes).toContain('running on progress-agent (epoch 1): {"step":"halfway"}');

    // The wait ends before the task does: the answer is the task as it stands, and says so.
    const started = Date.now();
    const still = await boss.client.callTool({
      name: 'submit_task',
      arguments: { id: 'outwaited', needs: ['cap-nobody'], input: {}, waitMs: 600 },
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(600);
    expect(still.isError).toBeUndefined();
    expect(still.structuredContent).toMatchObject({ id: 'outwaited', status: 'pending' });
    expect(JSON.stringify(still.content)).toContain(
      'is still pending: waiting for an agent at the end of the wait',
    );
    await boss.ok('cancel_task', { id: 'outwaited' });
    // Without a wait, at once.
    expect(await boss.ok('submit_task', { id: 'at-once', needs: ['cap-nobody'], input: {} })).toMatchObject({
      status: 'pending',
    });
    await boss.ok('cancel_task', { id: 'at-once' });
  });

  it('answers through meshwork mcp with an error naming the reason when the daemon cannot be reached', async () => {
    const port = await freePort();
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [CLI, 'mcp', '--url', `http://127.0.0.1:${port}`],
      env: { PATH: process.env.PATH ?? '', MESHWORK_API_KEY: API_KEY },
      stderr: 'pipe',
    });
    let stderr = '';
    transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const client = new Client({ name: 'unreachable', version: '1.0.0' });
    await expect(client.connect(transport)).rejects.toThrow(/meshwork mcp: .*fetch failed/);
    await client.close();
    expect(stderr).toContain(`cannot reach the daemon at http://127.0.0.1:${port}/mcp`);
  });
});

/** Sessions a client left without ending them: closed after mcp.sessionIdleMs, their agents released. */
describe('MCP sessions left idle', () => {
  let daemon: Daemon;
  const dir = tempDir('mcp-idle');
  beforeAll(async () => {
    daemon = await startDaemon(
      parseConfig(
        {
          name: 'mcp-idle',
          dataDir: join(dir, 'data'),
          apiKey: API_KEY,
          http: { port: 0 },
          logLevel: 'silent',
          // A lease longer than the idle time: the session's end, not the lease, frees the agent.
          workers: { leaseMs: 30_000 },
          mcp: { sessionIdleMs: 1_000 },
        },
        dir,
      ),
    );
  });
  afterAll(() => daemon.stop());

  /** One JSON-RPC message over plain HTTP, as a client that holds no stream between its calls. */
  const post = async (body: unknown, sessionId?: string) => {
    const res = await fetch(`${daemon.url}/mcp`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        authorization: `Bearer ${API_KEY}`,
        'mcp-protocol-version': '2025-11-25',
        ...(sessionId !== undefined ? { 'mcp-session-id': sessionId } : {}),
      },
      body: JSON.stringify(body),
    });
    return { status: res.status, sessionId: res.headers.get('mcp-session-id'), text: await res.text() };
  };

  it('closes a session without requests or streams, unregistering its agent', async () => {
    const opened = await post({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    });
    expect(opened.status).toBe(200);
    const sessionId = opened.sessionId!;
    expect((await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, sessionId)).status).toBe(202);
    const registered = await post(
      {
        jsonrpc: '2.0',
        id: 2,
        method: 'tools/call',
        params: { name: 'register_agent', arguments: { id: 'idle-agent' } },
      },
      sessionId,
    );
    expect(registered.text).toContain('"agentId":"idle-agent"');
    expect(daemon.workers.list().map((w) => w.agentId)).toEqual(['idle-agent']);
    await waitFor('the idle session to close', 10_000, () =>
      daemon.workers.list().length === 0 ? true : undefined,
    );
    const after = await post({ jsonrpc: '2.0', id: 3, method: 'tools/list' }, sessionId);
    expect(after.status).toBe(404);
    expect(after.text).toContain('Session not found');
  });
});
