import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSwarmKey } from '@meshwork/transport';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/config-error.ts';
import { loadConfig } from '../src/config.ts';
import { tempDir } from './support/processes.ts';

function configFile(content: unknown): { dir: string; file: string } {
  const dir = tempDir('config');
  const file = join(dir, 'node.json');
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return { dir, file };
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('config', () => {
  it('applies defaults, resolves paths against the file and lets flags override', () => {
    const { dir, file } = configFile({
      name: 'alpha',
      pskFile: 'swarm.key',
      http: { port: 8080 },
      agents: [{ id: 'builder', capabilities: ['build'], executors: { shell: { cwd: 'work' } } }],
    });
    const config = loadConfig(file, { httpPort: '9090', logLevel: 'debug' }, '/srv');
    expect(config.dataDir).toBe('/srv/.meshwork/alpha');
    expect(config.pskFile).toBe(join(dir, 'swarm.key'));
    expect(config.http).toEqual({ host: '127.0.0.1', port: 9090, maxBodyBytes: 1024 * 1024 });
    expect(config.logLevel).toBe('debug');
    expect(config.eventLog).toEqual({ maxEvents: 1_000_000, maxBytes: 128 * 1024 * 1024 });
    expect(config.retention).toEqual({ finishedMs: 300_000, maxFinished: 100_000 });
    expect(config.agents[0]).toMatchObject({
      capacity: 1,
      executors: { shell: { cwd: join(dir, 'work'), timeoutMs: 60_000 } },
    });
  });

  it('works from flags alone', () => {
    const config = loadConfig(
      undefined,
      { name: 'solo', dataDir: 'data', listen: ['/ip4/127.0.0.1/tcp/4001'] },
      '/tmp/x',
    );
    expect(config).toMatchObject({
      name: 'solo',
      dataDir: '/tmp/x/data',
      listen: ['/ip4/127.0.0.1/tcp/4001'],
    });
  });

  it('names the key and what was expected', () => {
    const { file } = configFile({
      name: 'alpha',
      http: { port: 'eighty' },
      eventLog: { maxEvents: -1 },
      agents: [{ id: 'a', capacity: 0, executors: {} }],
      allowList: ['not-a-peer-id'],
    });
    const err = configError(() => loadConfig(file));
    expect(err.message).toContain('allowList.0: expected a peer id (12D3KooW…)');
    expect(err.message).toMatch(/eventLog\.maxEvents: .*>0/);
    expect(err.message).toMatch(/http\.port: .*expected number/i);
    expect(err.message).toMatch(/agents\.0\.capacity: .*>=1/);
    expect(err.message).toContain('agents.0.executors: expected at least one of shell, http, module');
  });

  it('rejects unknown keys, bad flags, a missing name and non-JSON files', () => {
    expect(configError(() => loadConfig(configFile({ name: 'a', colour: 'red' }).file)).message).toContain(
      'colour: unknown key',
    );
    expect(configError(() => loadConfig(undefined, { name: 'a', httpPort: 'x' })).message).toContain(
      'http.port',
    );
    expect(configError(() => loadConfig(undefined, {})).message).toContain('name:');
    expect(configError(() => loadConfig(configFile('{ nope').file)).message).toContain('expected JSON');
    expect(configError(() => loadConfig('/no/such/file.json')).message).toContain('cannot be read');
  });

  it('checks the retention of finished tasks', () => {
    const retention = (value: unknown) => loadConfig(configFile({ name: 'a', retention: value }).file);
    expect(retention({ finishedMs: 0 }).retention).toEqual({ finishedMs: 0, maxFinished: 100_000 });
    const err = configError(() => retention({ finishedMs: -1, maxFinished: 1.5 }));
    expect(err.issues).toEqual([
      'retention.finishedMs: expected a number >= 0',
      'retention.maxFinished: expected a whole number',
    ]);
    expect(configError(() => retention({ finishedMs: '5m' })).message).toContain(
      'retention.finishedMs: Invalid input: expected number, received string',
    );
    expect(configError(() => retention({ ttl: 1 })).message).toContain('retention.ttl: unknown key');
  });

  it('checks how long the archive keeps finished tasks', () => {
    const archive = (value: unknown) => loadConfig(configFile({ name: 'a', archive: value }).file);
    expect(loadConfig(configFile({ name: 'a' }).file).archive).toEqual({ keepMs: 604_800_000 });
    expect(archive({ keepMs: 0 }).archive).toEqual({ keepMs: 0 });
    expect(configError(() => archive({ keepMs: -5 })).message).toContain(
      'archive.keepMs: expected a number >= 0',
    );
    expect(configError(() => archive({ keepDays: 7 })).message).toContain('archive.keepDays: unknown key');
  });

  it('checks mdns and the mesh topology, leaving keys out to the transport', () => {
    const load = (extra: object) => loadConfig(configFile({ name: 'a', ...extra }).file);
    const plain = load({});
    expect(plain.mdns).toBe(false);
    expect(plain.topology).toBeUndefined();
    expect(load({ mdns: true, topology: { maxPeers: 4, minPeers: 2 } })).toMatchObject({
      mdns: true,
      topology: { minPeers: 2, maxPeers: 4 },
    });
    const err = configError(() =>
      load({ mdns: 'yes', topology: { minPeers: 0, announceMs: -1, fanout: 3 } }),
    );
    expect(err.issues).toEqual([
      'mdns: Invalid input: expected boolean, received string',
      'topology.minPeers: Too small: expected number to be >0',
      'topology.announceMs: Too small: expected number to be >=0',
      'topology.fanout: unknown key',
    ]);
  });

  it('checks the pull-worker settings', () => {
    const workers = (value: unknown) => loadConfig(configFile({ name: 'a', workers: value }).file);
    expect(loadConfig(configFile({ name: 'a' }).file).workers).toEqual({
      leaseMs: 2_000,
      maxWaitMs: 20_000,
      maxWorkers: 100,
      maxResultBytes: 262_144,
    });
    expect(workers({ leaseMs: 5_000 }).workers).toMatchObject({ leaseMs: 5_000, maxWaitMs: 20_000 });
    const err = configError(() => workers({ leaseMs: 100, maxWaitMs: 90_000, maxWorkers: 0 }));
    expect(err.issues).toEqual([
      'workers.leaseMs: expected at least 500 ms',
      'workers.maxWaitMs: expected at most 60000 ms',
      'workers.maxWorkers: Too small: expected number to be >0',
    ]);
    expect(configError(() => workers({ lease: 1 })).message).toContain('workers.lease: unknown key');
  });

  it('checks webhooks, naming the field', () => {
    const webhooks = (value: unknown) => loadConfig(configFile({ name: 'a', webhooks: value }).file);
    const hook = { name: 'ops', url: 'https://hooks.example.com/meshwork', secret: 's'.repeat(16) };
    expect(webhooks([hook]).webhooks).toEqual([
      {
        ...hook,
        events: ['task.submitted', 'task.started', 'task.succeeded', 'task.failed', 'task.cancelled'],
        timeoutMs: 10_000,
        concurrency: 4,
        maxPending: 10_000,
        retry: { maxAttempts: 20, initialMs: 1_000, maxMs: 3_600_000 },
      },
    ]);
    const err = configError(() =>
      webhooks([
        { ...hook, url: 'ftp://example.com', secret: 'short', events: ['task.exploded'] },
        { ...hook, retry: { maxAttempts: 0 } },
        { ...hook, name: 'bad name', colour: 'red' },
      ]),
    );
    expect(err.issues).toEqual([
      'webhooks.0.url: expected an http(s) URL',
      'webhooks.0.secret: expected at least 16 characters',
      expect.stringMatching(/^webhooks\.0\.events\.0: /),
      expect.stringMatching(/^webhooks\.1\.retry\.maxAttempts: /),
      expect.stringMatching(/^webhooks\.2\.name: /),
      'webhooks.2.colour: unknown key',
    ]);
    expect(configError(() => webhooks([hook, hook])).issues).toEqual([
      'webhooks.1.name: another webhook is named ops',
    ]);
  });

  it('refuses agents the coordinator would refuse: a repeated id, a capability that is not a name', () => {
    const agents = (value: unknown) => loadConfig(configFile({ name: 'a', agents: value }).file);
    const agent = { id: 'w', capabilities: ['gpu', 'lang:en'], executors: { shell: {} } };
    expect(agents([agent]).agents.map((a) => a.capabilities)).toEqual([['gpu', 'lang:en']]);
    expect(configError(() => agents([agent, { ...agent, capabilities: ['bad cap'] }, agent])).issues).toEqual(
      [
        'agents.1.capabilities.0: expected 1-128 letters, digits, _ . : / @ -',
        'agents.1.id: another agent has the id w',
        'agents.2.id: another agent has the id w',
      ],
    );
  });

  it('checks workflow templates', () => {
    const workflows = { w: { name: 'w', steps: [{ id: 'a', type: 't', after: ['missing'] }] } };
    const err = configError(() => loadConfig(configFile({ name: 'a', workflows }).file));
    expect(err.message).toContain('workflows.w: template.steps[0].after');
  });

  it('reads the config file, log level and secrets from the environment: below flags, above the file', () => {
    const { dir, file } = configFile({
      name: 'alpha',
      logLevel: 'warn',
      apiKey: 'file-key-0123456789',
      pskFile: 'swarm.key',
    });
    const env = {
      MESHWORK_CONFIG: file,
      MESHWORK_LOG_LEVEL: 'debug',
      MESHWORK_API_KEY: 'env-key-0123456789abcdef',
    };
    const fromEnv = loadConfig(undefined, {}, '/srv', env);
    expect(fromEnv).toMatchObject({
      name: 'alpha',
      logLevel: 'debug',
      apiKey: 'env-key-0123456789abcdef',
      pskFile: join(dir, 'swarm.key'),
    });
    expect(fromEnv.swarmKey).toBeUndefined();
    const keyFile = join(dir, 'key');
    writeFileSync(keyFile, 'flag-file-key-0123456789\n');
    expect(loadConfig(undefined, { logLevel: 'error', apiKeyFile: keyFile }, '/srv', env)).toMatchObject({
      logLevel: 'error',
      apiKey: 'flag-file-key-0123456789',
    });
    // Empty variables count as unset, and a library caller that passes no env gets none read.
    expect(loadConfig(file, {}, '/srv', { MESHWORK_LOG_LEVEL: '', MESHWORK_API_KEY: '' })).toMatchObject({
      logLevel: 'warn',
      apiKey: 'file-key-0123456789',
    });
    expect(() => loadConfig(undefined, {}, '/srv')).toThrow('name: Invalid input');

    const key = createSwarmKey();
    const text = new TextDecoder().decode(key);
    const hex = text.split('\n')[2]!;
    for (const value of [text, `${text}\n`, hex, hex.toUpperCase()]) {
      const config = loadConfig(file, {}, '/srv', { MESHWORK_SWARM_KEY: value });
      expect(config.swarmKey).toEqual(key);
      expect(config.pskFile).toBeUndefined();
    }
    const flagged = loadConfig(file, { pskFile: 'other.key' }, '/srv', { MESHWORK_SWARM_KEY: hex });
    expect(flagged.pskFile).toBe('/srv/other.key');
    expect(flagged.swarmKey).toBeUndefined();
    for (const value of [hex.slice(1), `/key/swarm/psk/1.0.0/\n/base64/\n${hex}`]) {
      expect(configError(() => loadConfig(file, {}, '/srv', { MESHWORK_SWARM_KEY: value })).issues).toEqual([
        'MESHWORK_SWARM_KEY: expected the contents of a swarm key file (/key/swarm/psk/1.0.0/, /base16/, 64 hex digits) or the 64 hex digits alone',
      ]);
    }
    expect(configError(() => loadConfig(file, {}, '/srv', { MESHWORK_LOG_LEVEL: 'loud' })).issues).toEqual([
      'MESHWORK_LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent',
    ]);
  });
});
