import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.ts';
import { startDaemon } from '../src/daemon.ts';
import { api, API_KEY, heldCommand, tempDir, waitFor } from './support/processes.ts';

interface Status {
  pools: Record<string, { free: number; localRights: number }>;
}

describe('resource pools from the config', () => {
  it('contributes the configured units once, across restarts, and tasks acquire them', async () => {
    const dir = tempDir('pools');
    const config = (gpus: number) =>
      parseConfig(
        {
          name: 'gpu-node',
          dataDir: join(dir, 'data'),
          apiKey: API_KEY,
          http: { port: 0 },
          logLevel: 'silent',
          resources: { gpu: gpus },
          agents: [{ id: 'trainer', capacity: 4, executors: { shell: {} } }],
        },
        dir,
      );

    let daemon = await startDaemon(config(2));
    expect((await api<Status>(daemon.url, '/v1/status')).body.pools).toEqual({
      gpu: { free: 2, localRights: 2 },
    });
    await daemon.stop();

    // Same config again: nothing added. One more unit: only that one is added.
    daemon = await startDaemon(config(2));
    expect((await api<Status>(daemon.url, '/v1/status')).body.pools.gpu!.free).toBe(2);
    await daemon.stop();
    daemon = await startDaemon(config(3));
    expect((await api<Status>(daemon.url, '/v1/status')).body.pools.gpu!.free).toBe(3);

    // A task holding a unit shows in the pool while it runs (until the test releases it), and
    // gives it back.
    const release = join(dir, 'release');
    await api(daemon.url, '/v1/tasks', {
      body: {
        id: 'train',
        resources: { gpu: 1 },
        input: { executor: 'shell', argv: heldCommand(release) },
      },
    });
    await waitFor('the task to hold a gpu', 20_000, async () => {
      const { body } = await api<Status>(daemon.url, '/v1/status');
      return body.pools.gpu!.free === 2 ? true : undefined;
    });
    writeFileSync(release, '');
    await waitFor('the task to finish and release it', 20_000, async () => {
      const { body: task } = await api<{ status: string }>(daemon.url, '/v1/tasks/train');
      const { body } = await api<Status>(daemon.url, '/v1/status');
      return task.status === 'succeeded' && body.pools.gpu!.free === 3 ? true : undefined;
    });
    await daemon.stop();
  });
});
