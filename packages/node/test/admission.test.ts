import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSwarmKey } from '@meshwork/transport';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.ts';
import { startDaemon, type Daemon } from '../src/daemon.ts';
import { api, API_KEY, tempDir, waitFor } from './support/processes.ts';

/** The value of `meshwork_connections_refused_total{reason}` in a metrics page, or 0. */
function refused(metrics: string, reason: string): number {
  const line = metrics
    .split('\n')
    .find((l) => l.startsWith(`meshwork_connections_refused_total{reason="${reason}"}`));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

describe('refused connections', () => {
  const daemons: Daemon[] = [];
  afterEach(async () => {
    await Promise.all(daemons.splice(0).map((d) => d.stop()));
  });

  it('are counted by reason in /metrics and logged, a line per reason and interval', async () => {
    const dir = tempDir('admission');
    const start = async (name: string, bootstrap: string[] = []) => {
      const pskFile = join(dir, `${name}.key`);
      writeFileSync(pskFile, createSwarmKey());
      const d = await startDaemon(
        parseConfig(
          {
            name,
            dataDir: join(dir, name),
            apiKey: API_KEY,
            http: { port: 0 },
            logFile: join(dir, `${name}.log`),
            pskFile,
            bootstrap,
          },
          dir,
        ),
      );
      daemons.push(d);
      return d;
    };
    const guarded = await start('guarded');
    // Another swarm key: its dials (and redials) fail the pre-shared key handshake.
    await start('outsider', guarded.multiaddrs);
    const metrics = await waitFor('a refusal to be counted', 30_000, async () => {
      const { body } = await api<string>(guarded.url, '/metrics');
      return refused(body, 'pnet') >= 2 ? body : undefined;
    });
    expect(refused(metrics, 'allow-list')).toBe(0);
    const log = readFileSync(join(dir, 'guarded.log'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('connection refused (pnet)'));
    // Several refusals, one line: the rest are summed when the interval ends.
    expect(log).toHaveLength(1);
    expect(JSON.parse(log[0]!)).toMatchObject({ reason: 'pnet' });
  });
});
