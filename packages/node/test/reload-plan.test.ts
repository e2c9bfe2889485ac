import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.ts';
import { planReload } from '../src/reload/plan.ts';

const base = {
  name: 'n',
  dataDir: '/srv/n',
  agents: [
    { id: 'keep', executors: { shell: {} } },
    { id: 'tune', capacity: 1, executors: { shell: {} } },
    { id: 'drop', executors: { http: {} } },
  ],
};

describe('planReload', () => {
  it('sorts changes into live ones (agents, log level, webhooks) and the keys that need a restart', () => {
    const running = parseConfig(base, '/etc/meshwork');
    const next = parseConfig(
      {
        ...base,
        logLevel: 'debug',
        listen: ['/ip4/0.0.0.0/tcp/4001'],
        http: { port: 8080 },
        limits: { maxOpenTasks: 5 },
        webhooks: [{ name: 'ops', url: 'https://example.com/hook', secret: 's'.repeat(16) }],
        agents: [
          base.agents[0],
          { ...base.agents[1], executors: { shell: { timeoutMs: 5_000 } } },
          { id: 'new', executors: { module: { handlers: { h: 'h.mjs' } } } },
        ],
      },
      // Another directory for the same settings is not a change.
      '/etc/other',
    );
    expect(planReload(running, next)).toEqual({
      agents: { added: ['new'], removed: ['drop'], changed: ['tune'] },
      logLevel: { from: 'info', to: 'debug' },
      webhooksChanged: true,
      allowListChanged: false,
      restartRequired: ['http.port', 'limits.maxOpenTasks', 'listen'],
    });
  });

  it('takes a new allow-list live, set, replaced or removed', async () => {
    const running = parseConfig(base, '/etc/meshwork');
    const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString();
    const listed = parseConfig({ ...base, allowList: [peer] }, '/etc/meshwork');
    for (const [from, to] of [
      [running, listed],
      [listed, running],
    ] as const)
      expect(planReload(from, to)).toMatchObject({ allowListChanged: true, restartRequired: [] });
    expect(
      planReload(listed, parseConfig({ ...base, allowList: [peer] }, '/etc/meshwork')).allowListChanged,
    ).toBe(false);
  });

  it('finds nothing to do in the same config, and names the swarm key and data dir when they change', () => {
    const running = parseConfig(base, '/etc/meshwork');
    expect(planReload(running, parseConfig(base, '/etc/meshwork'))).toEqual({
      agents: { added: [], removed: [], changed: [] },
      logLevel: null,
      webhooksChanged: false,
      allowListChanged: false,
      restartRequired: [],
    });
    const keyed = { ...running, swarmKey: new Uint8Array(32).fill(1) };
    const moved = parseConfig({ ...base, dataDir: '/srv/elsewhere' }, '/etc/meshwork');
    expect(planReload(running, { ...moved, swarmKey: new Uint8Array(32).fill(2) }).restartRequired).toEqual([
      'dataDir',
      'swarmKey',
    ]);
    expect(planReload(keyed, { ...running, swarmKey: new Uint8Array(32).fill(1) }).restartRequired).toEqual(
      [],
    );
  });
});
