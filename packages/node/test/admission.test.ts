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

  const dir = tempDir('admission');
  /** An in-process daemon on real libp2p; `settings` go over the config file's keys. */
  const start = async (name: string, settings: Record<string, unknown> = {}) => {
    const config = parseConfig(
      {
        name,
        dataDir: join(dir, name),
        apiKey: API_KEY,
        http: { port: 0 },
        logFile: join(dir, `${name}.log`),
        ...settings,
      },
      dir,
    );
    const d = await startDaemon(config);
    daemons.push(d);
    return { daemon: d, config };
  };
  /** A fresh swarm key file for `name`. */
  const keyFile = (name: string): string => {
    const pskFile = join(dir, `${name}.key`);
    writeFileSync(pskFile, createSwarmKey());
    return pskFile;
  };
  const peersOf = async (d: Daemon): Promise<string[]> =>
    (await api<{ peerId: string }[]>(d.url, '/v1/peers')).body.map((p) => p.peerId);
  /** Resolves once `d` is connected to `peer` (or, with `connected` false, is not). */
  const linked = (d: Daemon, peer: string, connected: boolean, what: string) =>
    waitFor(what, 30_000, async () => ((await peersOf(d)).includes(peer) === connected ? true : undefined));

  it('are counted by reason in /metrics and logged, a line per reason and interval', async () => {
    const { daemon: guarded } = await start('guarded', { pskFile: keyFile('guarded') });
    // Another swarm key: its dials (and redials) fail the pre-shared key handshake.
    await start('outsider', { pskFile: keyFile('outsider'), bootstrap: guarded.multiaddrs });
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

  it('a reloaded allow-list disconnects and refuses the peers off it, and lifting it lets them back', async () => {
    const { daemon: gate, config } = await start('gate');
    const { daemon: member } = await start('member', { bootstrap: gate.multiaddrs });
    await linked(gate, member.peerId, true, 'the member connected');
    const closed = gate.reload({ ...config, allowList: [gate.peerId] });
    expect(closed).toMatchObject({ allowListChanged: true, restartRequired: [] });
    await linked(gate, member.peerId, false, 'the member disconnected');
    // The member keeps redialling; the gate refuses it once Noise has shown who it is.
    await waitFor('a redial refused', 30_000, async () =>
      refused((await api<string>(gate.url, '/metrics')).body, 'allow-list') > 0 ? true : undefined,
    );
    expect(await peersOf(gate)).not.toContain(member.peerId);
    expect(gate.reload({ ...config })).toMatchObject({ allowListChanged: true });
    await linked(gate, member.peerId, true, 'the member back');
  });
});
