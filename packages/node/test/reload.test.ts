import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  API_KEY,
  heldCommand,
  runCli,
  startDaemonProcess,
  tempDir,
  waitFor,
  type DaemonProcess,
} from './support/processes.ts';

interface AgentRow {
  id: string;
  live: boolean;
  retired: boolean;
  capabilities: string[];
  capacity: number;
}

interface TaskRow {
  id: string;
  status: string;
  agent: string | null;
  attempts: number;
}

const shellAgent = (id: string, capabilities: string[], capacity = 1) => ({
  id,
  capabilities,
  capacity,
  executors: { shell: {} },
});

/** A real `meshwork start` whose config file the test rewrites, reloaded by SIGHUP and `meshwork reload`. */
describe('config reload', () => {
  const dir = tempDir('reload');
  const name = 'reloading';
  const dataDir = join(dir, name);
  const file = join(dir, `${name}.json`);
  const logFile = join(dataDir, 'daemon.log');
  let daemon: DaemonProcess | undefined;
  let url = '';

  /** The config file as startDaemonProcess writes it, with `config` over it. */
  const writeConfig = (config: Record<string, unknown>): void =>
    writeFileSync(
      file,
      JSON.stringify({ name, dataDir, apiKey: API_KEY, http: { port: 0 }, logFile, ...config }),
    );
  const agents = async (): Promise<AgentRow[]> => (await api<AgentRow[]>(url, '/v1/agents')).body;
  const agent = async (id: string): Promise<AgentRow | undefined> =>
    (await agents()).find((a) => a.id === id);
  const submit = async (argv: string[], needs: string[]): Promise<string> => {
    const res = await api<TaskRow>(url, '/v1/tasks', { body: { input: { executor: 'shell', argv }, needs } });
    expect(res.status).toBe(201);
    return res.body.id;
  };
  const task = async (id: string): Promise<TaskRow> => (await api<TaskRow>(url, `/v1/tasks/${id}`)).body;
  const finished = (id: string): Promise<TaskRow> =>
    waitFor(`task ${id} to finish`, 60_000, async () => {
      const t = await task(id);
      return ['succeeded', 'failed', 'cancelled'].includes(t.status) ? t : undefined;
    });
  const log = (): string => readFileSync(logFile, 'utf8');
  const hangup = (): void => void daemon?.child.kill('SIGHUP');
  // The config names its key, so the data dir holds no api-key file: the CLI gets it from the environment.
  const reloadCli = (...args: string[]) =>
    runCli(['reload', '--data-dir', dataDir, ...args], { env: { MESHWORK_API_KEY: API_KEY } });

  beforeAll(async () => {
    daemon = await startDaemonProcess(dir, { name, agents: [shellAgent('first', ['a'])] });
    url = daemon.info.url;
  });
  afterAll(() => daemon?.child.kill('SIGTERM'));

  it('SIGHUP adds an agent: it shows in /v1/agents and takes a task', async () => {
    writeConfig({ agents: [shellAgent('first', ['a']), shellAgent('second', ['b'])] });
    hangup();
    const second = await waitFor('the new agent', 30_000, () => agent('second'));
    expect(second).toMatchObject({ live: true, retired: false, capacity: 1 });
    expect(second.capabilities).toEqual(['b', 'executor:shell']);
    const done = await finished(await submit(['echo', 'added'], ['b']));
    expect(done).toMatchObject({ status: 'succeeded', agent: 'second' });
    const status = (await api<{ agents: string[] }>(url, '/v1/status')).body;
    expect(status.agents).toEqual(['first', 'second']);
  });

  it('meshwork reload removes an agent while it runs a task: the task finishes on it, and it takes no more', async () => {
    const release = join(dir, 'release-first');
    const held = await submit(heldCommand(release), ['a']);
    await waitFor('the held task to run on first', 30_000, async () => {
      const t = await task(held);
      return t.status === 'running' && t.agent === 'first' ? t : undefined;
    });
    writeConfig({ agents: [shellAgent('second', ['b'])] });
    const reloaded = await reloadCli();
    expect(reloaded.code, reloaded.stderr).toBe(0);
    expect(reloaded.stdout).toBe('reloaded: agents removed: first\n');
    expect(await agent('first')).toMatchObject({ live: false, retired: true });
    // Unregistered, not aborted: its running attempt goes on and its result counts.
    expect(await task(held)).toMatchObject({ status: 'running', agent: 'first' });
    writeFileSync(release, '');
    expect(await finished(held)).toMatchObject({ status: 'succeeded', agent: 'first', attempts: 1 });
    // Nobody else has capability a: a new task for it waits, while one for b, submitted after it, runs.
    const orphan = await submit(['echo', 'nobody'], ['a']);
    expect(await finished(await submit(['echo', 'later'], ['b']))).toMatchObject({ status: 'succeeded' });
    expect((await task(orphan)).status).toBe('pending');
  });

  it('changes an agent (capabilities, capacity) in place and changes the log level', async () => {
    expect(log()).not.toMatch(/"msg":"http request"/);
    writeConfig({ logLevel: 'debug', agents: [shellAgent('second', ['b', 'c'], 2)] });
    const reloaded = await reloadCli('--json');
    expect(reloaded.code, reloaded.stderr).toBe(0);
    expect(JSON.parse(reloaded.stdout)).toEqual({
      agents: { added: [], removed: [], changed: ['second'] },
      logLevel: { from: 'info', to: 'debug' },
      webhooksChanged: false,
      allowListChanged: false,
      restartRequired: [],
    });
    expect(await agent('second')).toMatchObject({
      live: true,
      capacity: 2,
      capabilities: ['b', 'c', 'executor:shell'],
    });
    expect(await finished(await submit(['echo', 'changed'], ['c']))).toMatchObject({
      status: 'succeeded',
      agent: 'second',
    });
    // Debug lines (one per HTTP request) appear only at the new level.
    await waitFor('debug lines in the log', 30_000, async () => {
      await api(url, '/v1/status');
      return /"level":"debug".*"msg":"http request"/.test(log()) ? true : undefined;
    });
  });

  it('refuses an invalid config, naming the field, and keeps the old one in force', async () => {
    writeConfig({ logLevel: 'debug', agents: [{ ...shellAgent('second', ['b', 'c'], 2), capacity: 0 }] });
    const refused = await reloadCli();
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('422 invalid config: agents.0.capacity:');
    // The same refusal on SIGHUP is logged with its issues.
    hangup();
    await waitFor('the refusal in the log', 30_000, () =>
      /"issues":\["agents\.0\.capacity: [^"]+"\].*"msg":"config reload refused; the running config stays"/.test(
        log(),
      )
        ? true
        : undefined,
    );
    expect(await agent('second')).toMatchObject({ live: true, capacity: 2 });
    expect(await finished(await submit(['echo', 'still'], ['c']))).toMatchObject({
      status: 'succeeded',
      agent: 'second',
    });
    // `--config` finds the daemon through the file, and refuses it there with the same errors.
    const local = await runCli(['reload', '--config', file]);
    expect(local.code).toBe(2);
    expect(local.stderr).toContain('agents.0.capacity:');
  });

  it('starts, changes and stops webhooks', async () => {
    const received: { type: string; task: string }[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const event = JSON.parse(body) as { type: string; task: { id: string } };
        received.push({ type: event.type, task: event.task.id });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const hook = {
        name: 'ops',
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
        secret: 's'.repeat(16),
        events: ['task.succeeded'],
      };
      const agents = [shellAgent('second', ['b', 'c'], 2)];
      const pending = async (): Promise<string[]> =>
        (await api<string>(url, '/metrics')).body
          .split('\n')
          .filter((l) => l.startsWith('meshwork_webhook_outbox_pending'));
      expect(await pending()).toEqual([]);
      const reload = async (webhooks: unknown[]) => {
        writeConfig({ logLevel: 'debug', agents, webhooks });
        const r = await reloadCli('--json');
        expect(r.code, r.stderr).toBe(0);
        return JSON.parse(r.stdout) as { webhooksChanged: boolean };
      };

      expect((await reload([hook])).webhooksChanged).toBe(true);
      const first = await submit(['echo', 'hooked'], ['b']);
      await waitFor('the webhook', 30_000, () => (received.some((e) => e.task === first) ? true : undefined));
      expect(received).toEqual([{ type: 'task.succeeded', task: first }]);
      expect(await pending()).toEqual(['meshwork_webhook_outbox_pending{webhook="ops"} 0']);

      // Changed: the webhook is started again with its new settings, its metrics registered again.
      expect((await reload([{ ...hook, events: ['task.submitted'] }])).webhooksChanged).toBe(true);
      const second = await submit(['echo', 'hooked'], ['b']);
      await waitFor('the second webhook', 30_000, () =>
        received.some((e) => e.task === second) ? true : undefined,
      );
      expect(received.filter((e) => e.task === second)).toEqual([{ type: 'task.submitted', task: second }]);

      expect((await reload([])).webhooksChanged).toBe(true);
      expect(await pending()).toEqual([]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('reports a change to listen or http.maxBodyBytes as needing a restart, and keeps the running values', async () => {
    const before = (await api<{ multiaddrs: string[] }>(url, '/v1/status')).body.multiaddrs;
    writeFileSync(
      file,
      JSON.stringify({
        name,
        dataDir,
        apiKey: API_KEY,
        http: { port: 0, maxBodyBytes: 4096 },
        logFile,
        logLevel: 'debug',
        listen: ['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/0/ws'],
        agents: [shellAgent('second', ['b', 'c'], 2)],
      }),
    );
    const reloaded = await runCli(['reload', '--config', file]);
    expect(reloaded.code, reloaded.stderr).toBe(0);
    expect(reloaded.stdout).toBe(
      'reloaded: no live setting changed\nneeds a restart (the running values stay): http.maxBodyBytes, listen\n',
    );
    await waitFor('the restart warning in the log', 30_000, () =>
      /"level":"warn".*"restartRequired":\["http\.maxBodyBytes","listen"\]/.test(log()) ? true : undefined,
    );
    expect((await api<{ multiaddrs: string[] }>(url, '/v1/status')).body.multiaddrs).toEqual(before);
    // The old body limit is still the one in force.
    const big = await api(url, '/v1/tasks', {
      body: { input: { executor: 'shell', argv: ['echo', 'x'.repeat(5000)] }, needs: ['b'] },
    });
    expect(big.status).toBe(201);
  });

  it('POST /v1/admin/reload needs the API key and takes no options', async () => {
    expect((await api(url, '/v1/admin/reload', { body: {}, key: null })).status).toBe(401);
    expect(await api(url, '/v1/admin/reload', { body: { file: '/etc/passwd' } })).toEqual({
      status: 400,
      body: { error: { code: 'invalid_request', message: 'file: unknown field', field: 'file' } },
    });
    expect((await api(url, '/v1/admin/reload', { method: 'GET' })).status).toBe(405);
    const ok = await api<{ restartRequired: string[] }>(url, '/v1/admin/reload', { body: {} });
    expect(ok.status).toBe(200);
    expect(ok.body.restartRequired).toEqual(['http.maxBodyBytes', 'listen']);
  });
});
