import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
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
    });
    const err = configError(() => loadConfig(file));
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

  it('checks workflow templates', () => {
    const workflows = { w: { name: 'w', steps: [{ id: 'a', type: 't', after: ['missing'] }] } };
    const err = configError(() => loadConfig(configFile({ name: 'a', workflows }).file));
    expect(err.message).toContain('workflows.w: template.steps[0].after');
  });
});
