import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpMcpClient, mcpClient, type McpTestClient } from './support/mcp-client.ts';
import {
  api,
  API_KEY,
  CLI,
  freePort,
  startDaemonProcess,
  tempDir,
  waitFor,
  type DaemonProcess,
} from './support/processes.ts';

const TASKS = 100;

interface Assignment {
  taskId: string;
  epoch: number;
  input: { n: number };
}
interface Next {
  tasks: Assignment[];
  retryAfterMs: number | null;
}
interface Task {
  id: string;
  status: string;
  epoch: number;
  attempts: number;
  agent: string | null;
  result: { n: number; by: string } | null;
  history: { epoch: number; agent: string; outcome: string }[];
}
interface Completion {
  taskId: string;
  epoch: number;
  agent: string;
}

/**
 * MCP agents on a real 3-node mesh of daemon processes, through the SDK's client: two over
 * Streamable HTTP (nodes a and b) and one over stdio through `meshwork mcp` (node c) take 100
 * tasks submitted across the nodes, each exactly once; shared memory written through one node
 * is read through the others; a silent agent loses its task to another and its late completion
 * is refused; an MCP task outlives the node that created it; the stdio bridge survives a
 * restart of its daemon.
 */
describe('MCP agents on a mesh', () => {
  const dir = tempDir('mcp-mesh');
  const nodes: DaemonProcess[] = [];
  const clients: McpTestClient[] = [];
  let a: DaemonProcess;
  let b: DaemonProcess;
  let c: DaemonProcess;
  let cPort: number;
  let bridge: StdioClientTransport;
  let bridgeLog = '';
  let stdioAgent: McpTestClient;

  const config = (name: string, bootstrap: string[], extra: Record<string, unknown> = {}) => ({
    name,
    bootstrap,
    drainTimeoutMs: 2_000,
    logLevel: 'warn',
    ...extra,
  });
  const connect = async (node: DaemonProcess, key: string | null = API_KEY): Promise<McpTestClient> => {
    const client = await httpMcpClient(node.info.url, key);
    clients.push(client);
    return client;
  };
  const stdio = async (
    url: string,
    env: Record<string, string>,
  ): Promise<{ client: McpTestClient; transport: StdioClientTransport }> => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [CLI, 'mcp', '--url', url],
      env: { PATH: process.env.PATH ?? '', ...env },
      stderr: 'pipe',
    });
    const client = await mcpClient(transport, 'stdio-agent');
    clients.push(client);
    return { client, transport };
  };
  const task = async (node: DaemonProcess, id: string) =>
    (await api<Task>(node.info.url, `/v1/tasks/${id}`)).body;

  beforeAll(async () => {
    a = await startDaemonProcess(dir, config('a', []));
    b = await startDaemonProcess(dir, config('b', a.info.multiaddrs));
    cPort = await freePort();
    c = await startDaemonProcess(
      dir,
      config('c', [...a.info.multiaddrs, ...b.info.multiaddrs], { http: { port: cPort } }),
    );
    nodes.push(a, b, c);
    for (const d of nodes)
      await waitFor(`${d.info.node} to be ready`, 30_000, async () =>
        (await api(d.info.url, '/readyz')).status === 200 ? true : undefined,
      );
    const opened = await stdio(c.info.url, { MESHWORK_API_KEY: API_KEY });
    stdioAgent = opened.client;
    bridge = opened.transport;
    bridge.stderr?.on('data', (chunk: Buffer) => (bridgeLog += chunk.toString()));
  }, 120_000);
  afterAll(async () => {
    await Promise.all(clients.map((x) => x.close().catch(() => undefined)));
    for (const d of nodes) d.child.kill('SIGKILL');
  });

  it(`runs ${TASKS} tasks submitted across the nodes, each exactly once, on MCP agents over HTTP and stdio`, async () => {
    const agents = [
      { id: 'mcp-a', client: await connect(a) },
      { id: 'mcp-b', client: await connect(b) },
      { id: 'mcp-c-stdio', client: stdioAgent },
    ];
    for (const { id, client } of agents)
      expect(await client.ok('register_agent', { id, capabilities: ['bulk'], capacity: 4 })).toMatchObject({
        agentId: id,
        leaseMs: 2_000,
      });
    const bosses = [await connect(a), await connect(b), await connect(c)];
    await waitFor('the agents to be live mesh-wide', 30_000, async () => {
      const { agents: seen } = await bosses[2]!.ok<{ agents: { id: string; live: boolean }[] }>(
        'list_agents',
      );
      return agents.every((x) => seen.some((s) => s.id === x.id && s.live)) ? true : undefined;
    });

    const completions: Completion[] = [];
    const started = Date.now();
    // Each agent: next_task -> report_progress -> complete_task, until every task is done.
    const loops = agents.map(async ({ id, client }) => {
      while (completions.length < TASKS) {
        const { tasks } = await client.ok<Next>('next_task', { waitMs: 1_000, max: 4 });
        for (const t of tasks) {
          await client.ok('report_progress', { taskId: t.taskId, epoch: t.epoch, data: { half: true } });
          await client.ok('complete_task', {
            taskId: t.taskId,
            epoch: t.epoch,
            result: { n: t.input.n, by: id },
          });
          completions.push({ taskId: t.taskId, epoch: t.epoch, agent: id });
        }
      }
    });
    const ids = Array.from({ length: TASKS }, (_, i) => `mcp-bulk-${i}`);
    for (let i = 0; i < TASKS; i += 10)
      await Promise.all(
        ids.slice(i, i + 10).map((id, j) =>
          bosses[(i + j) % 3]!.ok('submit_task', {
            id,
            type: 'bulk',
            needs: ['bulk'],
            input: { n: i + j },
          }),
        ),
      );
    const submittedMs = Date.now() - started;
    await Promise.all(loops);
    const elapsedMs = Date.now() - started;

    // Exactly once, by the agents' own record: every task completed once, nothing refused.
    expect(completions.length).toBe(TASKS);
    expect(new Set(completions.map((x) => x.taskId)).size).toBe(TASKS);
    // ... and by the shared state, read through each node in turn: one attempt, at epoch 1.
    for (const [i, id] of ids.entries()) {
      const node = nodes[i % 3]!;
      const t = await waitFor(`${id} to succeed on ${node.info.node}`, 10_000, async () => {
        const seen = await task(node, id);
        return seen.status === 'succeeded' ? seen : undefined;
      });
      expect({ id, epoch: t.epoch, attempts: t.attempts, n: t.result?.n }).toEqual({
        id,
        epoch: 1,
        attempts: 1,
        n: i,
      });
      expect(t.result?.by).toBe(t.agent);
      expect(t.history).toEqual([
        expect.objectContaining({ epoch: 1, agent: t.agent, outcome: 'succeeded' }),
      ]);
    }
    const perAgent = Object.fromEntries(
      agents.map(({ id }) => [id, completions.filter((x) => x.agent === id).length]),
    );
    for (const { id } of agents) expect(perAgent[id]).toBeGreaterThan(0);
    console.log(
      `${TASKS} tasks over MCP: submitted in ${submittedMs} ms, all completed after ${elapsedMs} ms; per agent ${JSON.stringify(perAgent)}`,
    );
  }, 180_000);

  it('shares memory: written through one node, read through the others', async () => {
    const writer = await connect(a);
    const reader = await connect(b);
    await writer.ok('memory_put', {
      document: 'mesh-notes',
      member: 'deps',
      operation: { type: 'graph', op: 'addVertex', id: 'api', attrs: { lang: 'ts' } },
    });
    await writer.ok('memory_put', {
      document: 'mesh-notes',
      member: 'deps',
      operation: { type: 'graph', op: 'addVertex', id: 'db' },
    });
    await writer.ok('memory_put', {
      document: 'mesh-notes',
      member: 'deps',
      operation: { type: 'graph', op: 'addEdge', from: 'api', to: 'db', label: 'reads' },
    });
    const now = Date.now();
    await writer.ok('memory_put', {
      document: 'mesh-notes',
      member: 'latency',
      operation: {
        type: 'timeseries',
        op: 'append',
        points: [
          { series: 'p99', value: 12, at: now - 2_000 },
          { series: 'p99', value: 15, at: now - 1_000 },
          { series: 'p99', value: 40, at: now },
        ],
      },
    });
    await writer.ok('memory_put', {
      document: 'mesh-notes',
      member: 'owners',
      operation: { type: 'orset', op: 'add', values: ['alice', 'bob', 'carol'] },
    });

    const neighbours = await waitFor('the graph on b', 15_000, async () => {
      const answer = await reader.call<{ vertex: unknown; out: unknown[]; in: unknown[] }>('memory_query', {
        document: 'mesh-notes',
        member: 'deps',
        vertex: 'api',
      });
      return answer.ok && answer.data.out.length === 1 ? answer.data : undefined;
    });
    expect(neighbours).toMatchObject({
      type: 'graph',
      vertex: { id: 'api', attrs: { lang: 'ts' } },
      out: [{ from: 'api', to: 'db', label: 'reads' }],
      in: [],
    });
    const range = await waitFor('the series through stdio on c', 15_000, async () => {
      const answer = await stdioAgent.call<{ points: { value: number }[] }>('memory_query', {
        document: 'mesh-notes',
        member: 'latency',
        series: 'p99',
        from: now - 1_500,
        to: now + 1,
      });
      return answer.ok && answer.data.points.length === 2 ? answer.data : undefined;
    });
    expect(range.points.map((p) => p.value)).toEqual([15, 40]);
    const page = await waitFor('the set on c', 15_000, async () => {
      const answer = await stdioAgent.call<{ size: number; values: string[]; next: string | null }>(
        'memory_query',
        {
          document: 'mesh-notes',
          member: 'owners',
          limit: 2,
        },
      );
      return answer.ok && answer.data.size === 3 ? answer.data : undefined;
    });
    expect(page).toMatchObject({ values: ['alice', 'bob'], next: expect.any(String) as string });
    expect(
      await stdioAgent.ok('memory_query', { document: 'mesh-notes', member: 'owners', cursor: page.next }),
    ).toMatchObject({
      values: ['carol'],
      next: null,
    });
    expect(await reader.ok('memory_list', { document: 'mesh-notes' })).toMatchObject({
      members: [
        { name: 'deps', type: 'graph' },
        { name: 'latency', type: 'timeseries' },
        { name: 'owners', type: 'orset' },
      ],
    });
    // A write of another type is refused wherever it is made, and changes nothing.
    expect(
      await reader.refused('memory_put', {
        document: 'mesh-notes',
        member: 'owners',
        operation: { type: 'lww', op: 'set', value: 'dave' },
      }),
    ).toMatch(/^type_conflict \(type\): member owners of document mesh-notes has type orset/);
  }, 60_000);

  it('hands a silent agent’s task to another agent; its late completion is refused and changes nothing', async () => {
    const silent = await connect(b);
    await silent.ok('register_agent', { id: 'silent-agent', capabilities: ['cap-silent'] });
    const boss = await connect(c);
    await waitFor('the silent agent to be live on c', 30_000, async () => {
      const { agents } = await boss.ok<{ agents: { id: string; live: boolean }[] }>('list_agents');
      return agents.some((x) => x.id === 'silent-agent' && x.live) ? true : undefined;
    });
    await boss.ok('submit_task', { id: 'silent-task', needs: ['cap-silent'], input: { n: 1 } });
    const [held] = (await silent.ok<Next>('next_task', { waitMs: 10_000 })).tasks;
    expect(held).toMatchObject({ taskId: 'silent-task', epoch: 1 });
    // From here the agent makes no call.
    const silentSince = Date.now();
    const rescuer = await connect(a);
    await rescuer.ok('register_agent', { id: 'rescuer-agent', capabilities: ['cap-silent'] });
    const moved = await waitFor('the task to reach the rescuer', 30_000, async () => {
      const { tasks } = await rescuer.ok<Next>('next_task', { waitMs: 1_000 });
      return tasks[0];
    });
    const failoverMs = Date.now() - silentSince;
    expect(moved).toMatchObject({ taskId: 'silent-task', epoch: 2 });
    console.log(`silent MCP agent: its task reached another agent ${failoverMs} ms after its last call`);

    const late = await silent.refused('complete_task', {
      taskId: 'silent-task',
      epoch: 1,
      result: { n: 1, by: 'silent-agent' },
    });
    expect(late).toMatch(
      /^stale_attempt \(workerId\): worker w-\w+ expired at .+ \(no call for 2000 ms\) and its tasks were handed to other agents: this report changes nothing$/,
    );
    expect(await silent.refused('next_task', { waitMs: 0 })).toMatch(
      /^worker_expired \(workerId\): .*register again$/,
    );
    const during = await task(c, 'silent-task');
    expect(during).toMatchObject({ epoch: 2, agent: 'rescuer-agent', result: null });
    expect(['claimed', 'running']).toContain(during.status);
    await rescuer.ok('complete_task', {
      taskId: 'silent-task',
      epoch: 2,
      result: { n: 1, by: 'rescuer-agent' },
    });
    const done = await waitFor('silent-task to succeed', 10_000, async () => {
      const t = await task(b, 'silent-task');
      return t.status === 'succeeded' ? t : undefined;
    });
    expect(done).toMatchObject({ epoch: 2, agent: 'rescuer-agent', result: { by: 'rescuer-agent' } });
    const history = await waitFor('the archive to show the handover', 10_000, async () => {
      const rows = (await api<Task['history']>(c.info.url, '/v1/tasks/silent-task/history')).body;
      return rows.length === 2 && rows[1]!.outcome === 'succeeded' ? rows : undefined;
    });
    expect(history).toMatchObject([
      { epoch: 1, agent: 'silent-agent', outcome: 'released' },
      { epoch: 2, agent: 'rescuer-agent', outcome: 'succeeded' },
    ]);
    // Back: it registers again and works.
    expect(
      await silent.ok('register_agent', { id: 'silent-agent', capabilities: ['cap-silent'] }),
    ).toMatchObject({
      agentId: 'silent-agent',
    });
  }, 90_000);

  it('answers for an MCP task on any node, after the node that created it is gone', async () => {
    const creator = await connect(a);
    const observer = await connect(c, null);
    const worker = await connect(b);
    await worker.ok('register_agent', { id: 'survivor-agent', capabilities: ['cap-survive'] });
    const stream = creator.client.experimental.tasks.callToolStream(
      { name: 'submit_task', arguments: { id: 'survives-a', needs: ['cap-survive'], input: { n: 3 } } },
      CallToolResultSchema,
      { task: {} },
    );
    const created = (await stream.next()).value;
    expect(created).toMatchObject({ type: 'taskCreated', task: { taskId: 'meshwork://tasks/survives-a' } });
    await stream.return();
    // Another node knows it as soon as the task has synced.
    await waitFor('c to answer for the MCP task', 15_000, async () =>
      (await observer.client.experimental.tasks.getTask('meshwork://tasks/survives-a').catch(() => undefined))
        ?.status === 'working'
        ? true
        : undefined,
    );
    a.child.kill('SIGKILL');
    await a.exited;
    const [held] = (await worker.ok<Next>('next_task', { waitMs: 20_000 })).tasks;
    expect(held).toMatchObject({ taskId: 'survives-a', epoch: 1 });
    await worker.ok('complete_task', {
      taskId: 'survives-a',
      epoch: 1,
      result: { n: 3, by: 'survivor-agent' },
    });
    await waitFor('c to see the MCP task completed', 15_000, async () =>
      (await observer.client.experimental.tasks.getTask('meshwork://tasks/survives-a')).status === 'completed'
        ? true
        : undefined,
    );
    expect(
      await observer.client.experimental.tasks.getTaskResult(
        'meshwork://tasks/survives-a',
        CallToolResultSchema,
      ),
    ).toMatchObject({
      structuredContent: { id: 'survives-a', status: 'succeeded', result: { by: 'survivor-agent' } },
    });
  }, 90_000);

  it('keeps a stdio client working across a restart of its daemon, and reads only without the key', async () => {
    // The stdio agent registered with c in the first test; c restarts on the same port.
    c.child.kill('SIGTERM');
    expect(await c.exited).toBe(0);
    nodes.splice(nodes.indexOf(c), 1);
    c = await startDaemonProcess(dir, config('c', b.info.multiaddrs, { http: { port: cPort } }));
    nodes.push(c);
    // The bridge opens a new session for the same client: the agent is gone with the old one.
    expect(await stdioAgent.refused('next_task', { waitMs: 0 })).toMatch(/^no_agent/);
    expect(bridgeLog).toContain('opened a new one');
    expect(
      await stdioAgent.ok('register_agent', { id: 'mcp-c-stdio', capabilities: ['bulk'] }),
    ).toMatchObject({
      agentId: 'mcp-c-stdio',
    });
    expect(await stdioAgent.ok('get_task', { id: 'mcp-bulk-0' })).toMatchObject({ status: 'succeeded' });

    const { client: reader } = await stdio(c.info.url, {});
    expect(await reader.ok('get_task', { id: 'mcp-bulk-1' })).toMatchObject({ status: 'succeeded' });
    expect(await reader.refused('submit_task', { input: {} })).toMatch(
      /^unauthorized: submit_task changes the mesh/,
    );
  }, 120_000);
});
