import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../src/config.ts';
import { startDaemon, type Daemon } from '../src/daemon.ts';
import { EventLogError } from '../src/persistence.ts';
import { api, API_KEY, tempDir } from './support/processes.ts';

describe('an event log that cannot be written', () => {
  const daemons: Daemon[] = [];
  afterEach(async () => {
    vi.restoreAllMocks();
    await Promise.all(daemons.splice(0).map((d) => d.stop()));
  });

  const start = async (dataDir: string): Promise<Daemon> => {
    const config = parseConfig(
      { name: 'embedded', dataDir, apiKey: API_KEY, http: { port: 0 }, logFile: join(dataDir, 'log') },
      dataDir,
    );
    const daemon = await startDaemon(config);
    daemons.push(daemon);
    return daemon;
  };

  it('stops the embedded daemon and rejects `stopped`, leaving the process running', async () => {
    const exit = vi.spyOn(process, 'exit');
    const dataDir = tempDir('fail-stop');
    const daemon = await start(dataDir);
    const submit = (id: string) =>
      api(daemon.url, '/v1/tasks', { body: { id, input: { executor: 'shell', argv: ['true'] } } });
    expect((await submit('durable')).status).toBe(201);

    // Another connection holds the write lock: the daemon's next append fails once its busy timeout ends.
    const lock = new DatabaseSync(join(dataDir, 'meshwork.db'));
    lock.exec('BEGIN EXCLUSIVE');
    try {
      const refused = await submit('undurable');
      expect(refused.status).toBe(500);
      const err: unknown = await daemon.stopped.then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(EventLogError);
      expect((err as Error).message).toMatch(/cannot write to the event log/);
    } finally {
      lock.exec('ROLLBACK');
      lock.close();
    }
    expect(exit).not.toHaveBeenCalled();
    // Stopped: the API is closed and the daemon's info file is gone.
    await expect(fetch(daemon.url + '/healthz')).rejects.toThrow();
    expect(existsSync(join(dataDir, 'daemon.json'))).toBe(false);

    // Only the acknowledged task was stored.
    daemons.splice(0);
    const restarted = await start(dataDir);
    const { body } = await api<{ items: { id: string }[] }>(restarted.url, '/v1/tasks');
    expect(body.items.map((t) => t.id)).toEqual(['durable']);
  }, 30_000);
});
