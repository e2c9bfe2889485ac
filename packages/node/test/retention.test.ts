import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type ResolvedConfig } from '../src/config.ts';
import { startDaemon, type Daemon } from '../src/daemon.ts';
import { api, API_KEY, runCli, tempDir, waitFor } from './support/processes.ts';

interface ShownTask {
  id: string;
  status: string | null;
  removed?: boolean;
  result: unknown;
  history: { outcome: string; agent: string }[];
}

/** A daemon that removes finished tasks from the mesh 200 ms after they finish. */
describe('retention of finished tasks', () => {
  const dir = tempDir('retention');
  let config: ResolvedConfig;
  let daemon: Daemon;
  beforeAll(async () => {
    config = parseConfig(
      {
        name: 'retention-node',
        dataDir: join(dir, 'data'),
        apiKey: API_KEY,
        http: { port: 0 },
        logLevel: 'silent',
        retention: { finishedMs: 200 },
        agents: [{ id: 'worker', executors: { shell: {} } }],
      },
      dir,
    );
    daemon = await startDaemon(config);
  });
  afterAll(() => daemon.stop());

  const removed = (id: string): Promise<ShownTask> =>
    waitFor(`${id} to be removed`, 8_000, async () => {
      const { status, body } = await api<ShownTask>(daemon.url, `/v1/tasks/${id}`);
      return status === 200 && body.removed === true ? body : undefined;
    });

  it('reports the removal over SSE', async () => {
    const ac = new AbortController();
    const res = await fetch(`${daemon.url}/v1/events`, { signal: ac.signal });
    const reader = res.body!.getReader();
    await api(daemon.url, '/v1/tasks', {
      body: { id: 'streamed-away', input: { executor: 'shell', argv: ['true'] } },
    });
    let text = '';
    while (!text.includes('event: removed\ndata: {"id":"streamed-away"}')) {
      text += new TextDecoder().decode((await reader.read()).value as Uint8Array);
    }
    expect(text.indexOf('"status":"succeeded"')).toBeLessThan(text.indexOf('event: removed'));
    ac.abort();
  });

  it('removes a finished task from the mesh and answers for it from the archive', async () => {
    await api(daemon.url, '/v1/tasks', {
      body: { id: 'kept', input: { executor: 'shell', argv: ['echo', 'kept'] } },
    });
    // Never claimed (no agent has the capability), then cancelled: archived without attempts.
    await api(daemon.url, '/v1/tasks', {
      body: { id: 'idle', needs: ['no-such-capability'], input: { executor: 'shell', argv: ['true'] } },
    });
    expect((await api(daemon.url, '/v1/tasks/idle/cancel', { body: {} })).status).toBe(200);

    expect(await removed('kept')).toEqual({
      id: 'kept',
      removed: true,
      status: 'succeeded',
      result: expect.objectContaining({ exitCode: 0, stdout: 'kept\n' }) as unknown,
      error: null,
      finishedAt: expect.any(Number) as unknown,
      history: [expect.objectContaining({ task: 'kept', agent: 'worker', epoch: 1, outcome: 'succeeded' })],
    });
    expect(await removed('idle')).toMatchObject({ status: 'cancelled', history: [] });

    // Gone from the coordinator: not listed, not counted, not cancellable.
    const list = await api<{ items: { id: string }[] }>(daemon.url, '/v1/tasks');
    expect(list.body.items.map((t) => t.id)).not.toContain('kept');
    const status = await api<{ tasks: Record<string, number> }>(daemon.url, '/v1/status');
    expect(status.body.tasks).toMatchObject({ succeeded: 0, cancelled: 0 });
    expect((await api(daemon.url, '/v1/tasks/kept/cancel', { body: {} })).status).toBe(404);
    // A task this node never knew is still a plain 404.
    const unknown = await api<{ error: { code: string } }>(daemon.url, '/v1/tasks/never-seen');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('not_found');

    const shown = await runCli(['task', 'show', 'kept', '--url', daemon.url]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain(
      'kept finished (succeeded) and was removed from the mesh after the retention period',
    );
  });

  it('still answers for removed tasks after a restart, which does not bring them back', async () => {
    await daemon.stop();
    daemon = await startDaemon(config);
    expect(await removed('kept')).toMatchObject({ status: 'succeeded', history: [{ outcome: 'succeeded' }] });
    const list = await api<{ items: { id: string }[] }>(daemon.url, '/v1/tasks');
    expect(list.body.items).toEqual([]);
  });
});
