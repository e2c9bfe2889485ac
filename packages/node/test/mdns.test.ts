import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSwarmKey } from '@meshwork/transport';
import { afterAll, describe, expect, it } from 'vitest';
import { api, startDaemonProcess, tempDir, waitFor, type DaemonProcess } from './support/processes.ts';

interface AgentRow {
  id: string;
  live: boolean;
}

/** Two daemons with `mdns` on and nothing to bootstrap from find each other on the local network. */
describe('mdns on the daemon', () => {
  const dir = tempDir('mdns');
  const daemons: DaemonProcess[] = [];
  afterAll(() => {
    for (const d of daemons) d.child.kill('SIGTERM');
  });

  it('links daemons that know of no peer, and each sees the other’s agent live', async () => {
    // A swarm key of their own: nodes of other tests answering mDNS on this host are refused.
    const pskFile = join(dir, 'swarm.key');
    writeFileSync(pskFile, createSwarmKey());
    const start = (name: string) =>
      startDaemonProcess(dir, {
        name,
        pskFile,
        mdns: true,
        logLevel: 'warn',
        agents: [{ id: `${name}-agent`, capacity: 1, executors: { shell: {} } }],
      });
    daemons.push(...(await Promise.all([start('left'), start('right')])));
    for (const d of daemons) {
      const agents = await waitFor(`${d.info.url} to see both agents live`, 30_000, async () => {
        const { body } = await api<AgentRow[]>(d.info.url, '/v1/agents');
        return body.filter((a) => a.live).length === 2 ? body : undefined;
      });
      expect(agents.map((a) => a.id).sort()).toEqual(['left-agent', 'right-agent']);
    }
  });
});
