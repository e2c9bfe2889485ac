import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.ts';
import { startDaemon, type Daemon } from '../src/daemon.ts';
import { api, API_KEY, heldCommand, tempDir, waitFor } from './support/processes.ts';

interface Task {
  id: string;
  status: string;
  agent: string | null;
  epoch: number;
}
interface Attempt {
  agent: string;
  epoch: number;
  endedAt: number | null;
  outcome: string;
}

function config(dir: string, name: string, agent: string, drainTimeoutMs: number, bootstrap: string[] = []) {
  return parseConfig(
    {
      name,
      dataDir: join(dir, name),
      apiKey: API_KEY,
      http: { port: 0 },
      logLevel: 'silent',
      bootstrap,
      drainTimeoutMs,
      agents: [{ id: agent, capabilities: ['slow'], executors: { shell: {} } }],
    },
    dir,
  );
}

/** A task that runs until the test creates `release`. */
const heldTask = (id: string, release: string) => ({
  id,
  needs: ['slow'],
  input: { executor: 'shell', argv: heldCommand(release, { lastLine: 'done' }) },
});

async function runningOn(url: string, id: string): Promise<Task> {
  return waitFor(`${id} to run`, 20_000, async () => {
    const { body } = await api<Task>(url, `/v1/tasks/${id}`);
    return body.status === 'running' ? body : undefined;
  });
}

/** Two connected nodes that see each other's agents live; `drainMs` applies to both. */
async function pair(dir: string, drainMs: number): Promise<Record<string, Daemon>> {
  const a = await startDaemon(config(dir, 'a', 'agent-a', drainMs));
  const b = await startDaemon(config(dir, 'b', 'agent-b', drainMs, a.multiaddrs));
  for (const d of [a, b]) {
    await waitFor('both agents to be live', 20_000, async () => {
      const { body } = await api<{ live: boolean }[]>(d.url, '/v1/agents');
      return body.filter((x) => x.live).length === 2 ? true : undefined;
    });
  }
  return { 'agent-a': a, 'agent-b': b };
}

/** Two connected nodes running one held task; returns the node holding it and the other one. */
async function holdOne(prefix: string, drainMs: number) {
  const dir = tempDir(prefix);
  const nodes = await pair(dir, drainMs);
  const release = join(dir, 'release');
  await api(nodes['agent-a']!.url, '/v1/tasks', { body: heldTask(prefix, release) });
  const { agent } = await runningOn(nodes['agent-a']!.url, prefix);
  const holder = nodes[agent!]!;
  const [otherAgent, other] = Object.entries(nodes).find(([, d]) => d !== holder)!;
  return { nodes: Object.values(nodes), agent: agent!, holder, otherAgent, other, release };
}

describe('graceful shutdown', () => {
  const daemons: Daemon[] = [];
  afterEach(async () => {
    await Promise.all(daemons.map((d) => d.stop()));
    daemons.length = 0;
  });

  it('finishes a running task within the drain timeout', async () => {
    const { nodes, agent, holder, other, release } = await holdOne('finish-me', 20_000);
    daemons.push(...nodes);

    const stopping = holder.stop('test');
    // Draining: no longer ready, still serving.
    expect((await api(holder.url, '/readyz')).status).toBe(503);
    expect((await api(holder.url, '/healthz')).status).toBe(200);
    writeFileSync(release, '');
    await stopping;
    // The holder finished the task before leaving, and its last writes reached the other node.
    const { body } = await api<Task>(other.url, '/v1/tasks/finish-me');
    expect(body).toMatchObject({ status: 'succeeded', agent, epoch: 1 });
    const history = (await api<Attempt[]>(other.url, '/v1/tasks/finish-me/history')).body;
    expect(history).toEqual([expect.objectContaining({ agent, epoch: 1, outcome: 'succeeded' })]);
  });

  it('hands a task that outlives the drain timeout to the other node, releasing its lease', async () => {
    const { nodes, agent, holder, otherAgent, other, release } = await holdOne('hand-me-off', 300);
    daemons.push(...nodes);

    await holder.stop('test');
    // The lease is released, not left to expire: the other node sees the attempt ended at once
    // (and may already have started the next epoch).
    const history = (await api<Attempt[]>(other.url, '/v1/tasks/hand-me-off/history')).body;
    const first = history.filter((h) => h.epoch === 1);
    expect(first).toEqual([expect.objectContaining({ agent, epoch: 1, outcome: 'released' })]);
    expect(first[0]!.endedAt).not.toBeNull();
    writeFileSync(release, '');
    const done = await waitFor('the other node to finish it', 30_000, async () => {
      const { body } = await api<Task>(other.url, '/v1/tasks/hand-me-off');
      return body.status === 'succeeded' ? body : undefined;
    });
    expect(done).toMatchObject({ agent: otherAgent, epoch: 2 });
    const after = (await api<Attempt[]>(other.url, '/v1/tasks/hand-me-off/history')).body;
    expect(after.map((h) => [h.agent, h.epoch, h.outcome])).toEqual([
      [agent, 1, 'released'],
      [otherAgent, 2, 'succeeded'],
    ]);
  });
});
