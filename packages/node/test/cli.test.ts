import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import {
  api,
  runCli,
  startDaemonProcess,
  tempDir,
  waitFor,
  type DaemonProcess,
} from './support/processes.ts';

const packageVersion = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

describe('meshwork CLI', () => {
  it('has --help on every command', async () => {
    const commands = [
      [],
      ['init'],
      ['start'],
      ['demo'],
      ['task'],
      ['task', 'submit'],
      ['task', 'list'],
      ['task', 'show'],
      ['task', 'cancel'],
      ['workflow'],
      ['workflow', 'start'],
      ['workflow', 'list'],
      ['workflow', 'show'],
      ['agents'],
      ['reload'],
      ['peers'],
      ['status'],
      ['mcp'],
    ];
    const results = await Promise.all(commands.map((c) => runCli([...c, '--help'])));
    results.forEach((r, i) => {
      expect(r.code, commands[i]!.join(' ')).toBe(0);
      expect(r.stdout).toContain('Usage: meshwork');
    });
    expect(results[0]!.stdout).toMatch(
      /init[\s\S]*start[\s\S]*demo[\s\S]*task[\s\S]*workflow[\s\S]*agents[\s\S]*peers[\s\S]*status/,
    );
    expect(results[2]!.stdout).toContain('--http-port');
  });

  it('prints its version with --version and -V', async () => {
    const [long, short] = await Promise.all([runCli(['--version']), runCli(['-V'])]);
    expect(long).toEqual({ code: 0, stdout: `${packageVersion}\n`, stderr: '' });
    expect(short).toEqual(long);
  });

  it('exits non-zero on an invalid config, naming the key and what was expected', async () => {
    const dir = tempDir('cli-config');
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ name: 'x', http: { port: 'http' }, drainTimeoutMs: -1 }));
    const common = (name: string) => [
      '--name',
      name,
      '--data-dir',
      join(dir, name),
      '--http-port',
      '0',
      '--log-level',
      'silent',
    ];
    // Valid keys one by one, which the transport refuses together.
    const shape = join(dir, 'shape.json');
    writeFileSync(shape, JSON.stringify({ topology: { minPeers: 8, maxPeers: 4 }, mdns: true }));
    // Independent processes: run them side by side.
    const [r, flag, listen, psk, topology] = await Promise.all([
      runCli(['start', '--config', file]),
      runCli(['start', '--name', 'x', '--http-port', 'abc']),
      runCli(['start', ...common('listen'), '--listen', '/ip4/not-an-ip/tcp/1']),
      runCli(['start', ...common('psk'), '--psk-file', join(dir, 'missing.key')]),
      runCli(['start', '--config', shape, ...common('shape')]),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('http.port: Invalid input: expected number, received string');
    expect(r.stderr).toContain('drainTimeoutMs');
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain('http.port');
    expect(listen.code).toBe(2);
    expect(listen.stderr).toContain('invalid config: listen[0]: not a multiaddr');
    expect(psk.code).toBe(2);
    expect(psk.stderr).toContain('invalid config: pskFile: cannot read');
    expect(topology.code).toBe(2);
    expect(topology.stderr).toContain(
      'invalid config: topology.maxPeers: must be at least topology.minPeers',
    );
  });

  it('reads MESHWORK_CONFIG, MESHWORK_LOG_LEVEL and secrets from the environment, naming a variable whose value is wrong', async () => {
    const dir = tempDir('cli-env');
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ name: 'x', http: { port: 'http' } }));
    const common = ['--name', 'x', '--data-dir', join(dir, 'x'), '--http-port', '0'];
    const [config, level, flagWins, swarmKey, keyFile] = await Promise.all([
      runCli(['start'], { env: { MESHWORK_CONFIG: file } }),
      runCli(['start', ...common], { env: { MESHWORK_LOG_LEVEL: 'loud' } }),
      // A flag wins over the variable: the bad level is never read.
      runCli(['start', ...common, '--log-level', 'silent', '--psk-file', join(dir, 'missing.key')], {
        env: { MESHWORK_LOG_LEVEL: 'loud' },
      }),
      runCli(['start', ...common], { env: { MESHWORK_SWARM_KEY: 'not a key' } }),
      runCli(['start', ...common, '--api-key-file', join(dir, 'missing-key')]),
    ]);
    expect(config.code).toBe(2);
    expect(config.stderr).toContain('http.port: Invalid input: expected number, received string');
    expect(level.code).toBe(2);
    expect(level.stderr).toContain(
      'MESHWORK_LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent',
    );
    expect(flagWins.code).toBe(2);
    expect(flagWins.stderr).toContain('pskFile: cannot read');
    expect(swarmKey.code).toBe(2);
    expect(swarmKey.stderr).toContain('MESHWORK_SWARM_KEY: expected the contents of a swarm key file');
    expect(keyFile.code).toBe(2);
    expect(keyFile.stderr).toContain(`apiKey: cannot read the key file ${join(dir, 'missing-key')}`);
  });

  it('exits 75 naming the address when a listen address is held by another process', async () => {
    const dir = tempDir('cli-in-use');
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const { port } = holder.address() as AddressInfo;
    try {
      const common = (name: string) => [
        '--name',
        name,
        '--data-dir',
        join(dir, name),
        '--log-level',
        'silent',
      ];
      const [mesh, http, logged] = await Promise.all([
        runCli(['start', ...common('mesh'), '--http-port', '0', '--listen', `/ip4/127.0.0.1/tcp/${port}`]),
        runCli(['start', ...common('http'), '--http-port', String(port)]),
        // Logging to a file, the daemon exits before any line is written: the one line says why.
        runCli([
          'start',
          ...common('logged'),
          '--log-level',
          'info',
          '--log-file',
          join(dir, 'logged.log'),
          '--http-port',
          String(port),
        ]),
      ]);
      expect(mesh.code).toBe(75);
      expect(mesh.stderr).toContain(
        `meshwork: listen address /ip4/127.0.0.1/tcp/${port} is in use (set listen)`,
      );
      expect(http.code).toBe(75);
      expect(http.stderr).toContain(`meshwork: listen address 127.0.0.1:${port} is in use (set http.port)`);
      expect(logged.code).toBe(75);
      expect(logged.stderr.trim()).toBe(
        `meshwork: listen address 127.0.0.1:${port} is in use (set http.port)`,
      );
    } finally {
      holder.close();
    }
  });

  describe('against a running daemon', () => {
    const dir = tempDir('cli');
    let daemon: DaemonProcess;
    afterAll(() => daemon?.child.kill('SIGTERM'));

    it('submits, lists, shows and cancels a task', async () => {
      daemon = await startDaemonProcess(dir, {
        name: 'cli-node',
        // No key configured: the daemon generates one in <dataDir>/api-key, where the CLI finds it.
        apiKey: undefined,
        agents: [{ id: 'runner', executors: { shell: {} } }],
      });
      const target = ['--data-dir', daemon.dataDir];
      const submitted = await runCli([
        'task',
        'submit',
        ...target,
        '--id',
        'nap',
        '--json',
        '--',
        'sleep',
        '30',
      ]);
      expect(submitted.code, submitted.stderr).toBe(0);
      expect(JSON.parse(submitted.stdout)).toMatchObject({ id: 'nap' });

      await waitFor('the task to run', 20_000, async () => {
        const r = await runCli(['task', 'list', ...target]);
        return /nap\s+executor:shell\s+running/.test(r.stdout) ? true : undefined;
      });
      const shown = await runCli(['task', 'show', 'nap', ...target]);
      expect(shown.code).toBe(0);
      expect(JSON.parse(shown.stdout)).toMatchObject({
        id: 'nap',
        status: 'running',
        agent: 'runner',
        input: { argv: ['sleep', '30'] },
      });

      const cancelled = await runCli(['task', 'cancel', 'nap', ...target]);
      expect(cancelled.code, cancelled.stderr).toBe(0);
      expect(cancelled.stdout).toContain('cancelled nap (cancelled)');
      const listed = await runCli(['task', 'list', ...target, '--status', 'cancelled', '--json']);
      expect(JSON.parse(listed.stdout)).toEqual({
        items: [expect.objectContaining({ id: 'nap', status: 'cancelled' })],
        nextCursor: null,
      });

      for (const cmd of [['agents'], ['peers'], ['status']]) {
        const r = await runCli([...cmd, ...target]);
        expect(r.code, `${cmd[0]}: ${r.stderr}`).toBe(0);
      }
      expect((await runCli(['agents', ...target])).stdout).toMatch(/runner\s+\S+\s+yes/);

      const waited = await runCli(['task', 'submit', ...target, '--wait', '--', 'echo', 'waited']);
      expect(waited.code, waited.stderr).toBe(0);
      expect(waited.stdout).toMatch(/succeeded on runner: .*"stdout":"waited\\n"/);
      const failing = await runCli([
        'task',
        'submit',
        ...target,
        '--wait',
        '--max-attempts',
        '1',
        '--',
        'false',
      ]);
      expect(failing.code).toBe(1);
      expect(failing.stdout).toContain('failed');

      const unknown = await runCli(['task', 'show', 'nope', ...target]);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain('404');
      const noKey = await runCli([
        'task',
        'cancel',
        'nap',
        '--url',
        daemon.info.url,
        '--api-key',
        'wrong-key',
      ]);
      expect(noKey.code).toBe(1);
      expect(noKey.stderr).toContain('401');
    });
  });

  describe('init', () => {
    const dir = tempDir('cli-init');
    const daemons: DaemonProcess[] = [];
    afterAll(() => daemons.forEach((d) => d.child.kill('SIGTERM')));

    it('creates a data dir with the node key, an API key, a swarm key and a config a daemon starts from', async () => {
      const alphaDir = join(dir, 'alpha');
      const r = await runCli(['init', '--data-dir', alphaDir, '--name', 'alpha', '--swarm-key', '--json']);
      expect(r.code, r.stderr).toBe(0);
      const alpha = JSON.parse(r.stdout) as {
        peerId: string;
        configFile: string;
        apiKeyFile: string;
        swarmKeyFile: string;
        bootstrapAddrs: string[];
      };
      expect(alpha).toMatchObject({
        name: 'alpha',
        dataDir: alphaDir,
        configFile: join(alphaDir, 'meshwork.json'),
        apiKeyFile: join(alphaDir, 'api-key'),
        swarmKeyFile: join(alphaDir, 'swarm.key'),
      });
      expect(alpha.peerId).toMatch(/^12D3KooW/);
      expect(alpha.bootstrapAddrs.length).toBeGreaterThan(0);
      for (const addr of alpha.bootstrapAddrs)
        expect(addr).toMatch(new RegExp(`^/ip4/[\\d.]+/tcp/4001/p2p/${alpha.peerId}$`));
      for (const secret of [alpha.apiKeyFile, alpha.swarmKeyFile])
        expect(statSync(secret).mode & 0o777).toBe(0o600);
      expect(loadConfig(alpha.configFile)).toMatchObject({
        name: 'alpha',
        dataDir: alphaDir,
        pskFile: alpha.swarmKeyFile,
        listen: ['/ip4/0.0.0.0/tcp/4001'],
      });

      const human = await runCli(['init', '--data-dir', join(dir, 'open'), '--name', 'open']);
      expect(human.code, human.stderr).toBe(0);
      expect(human.stdout).toMatch(/^initialised node open in /);
      expect(human.stdout).toMatch(/peer id +12D3KooW/);
      expect(human.stdout).toContain('no swarm key: any peer that reaches the listen address can join');
      expect(human.stdout).toMatch(
        /other nodes bootstrap to it with:\n {2}\/ip4\/.*\/tcp\/4001\/p2p\/12D3KooW/,
      );

      const again = await runCli(['init', '--data-dir', alphaDir]);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain(`meshwork: ${alpha.configFile} exists already`);
      const betaDir = join(dir, 'beta');
      const copied = await runCli([
        'init',
        '--data-dir',
        betaDir,
        '--name',
        'beta',
        '--swarm-key',
        alpha.swarmKeyFile,
      ]);
      expect(copied.code, copied.stderr).toBe(0);
      expect(readFileSync(join(betaDir, 'swarm.key'))).toEqual(readFileSync(alpha.swarmKeyFile));
      const notAKey = await runCli([
        'init',
        '--data-dir',
        join(dir, 'gamma'),
        '--swarm-key',
        alpha.configFile,
      ]);
      expect(notAKey.code).toBe(2);
      expect(notAKey.stderr).toContain(`--swarm-key: ${alpha.configFile} is not a swarm key file`);
      expect(existsSync(join(dir, 'gamma'))).toBe(false);

      // The node starts with the key init made; a node given the swarm key through the
      // environment (its hex digits alone) gets into the private network.
      const initConfig = JSON.parse(readFileSync(alpha.configFile, 'utf8')) as Record<string, unknown>;
      const node = await startDaemonProcess(dir, {
        ...initConfig,
        dataDir: alphaDir,
        pskFile: alpha.swarmKeyFile,
        listen: ['/ip4/127.0.0.1/tcp/0'],
        http: { port: 0 },
      });
      daemons.push(node);
      expect(node.info.peerId).toBe(alpha.peerId);
      const hex = readFileSync(alpha.swarmKeyFile, 'utf8').trim().split('\n').at(-1)!;
      const joiner = await startDaemonProcess(
        dir,
        { name: 'joiner', listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: node.info.multiaddrs },
        { env: { MESHWORK_SWARM_KEY: hex } },
      );
      daemons.push(joiner);
      await waitFor('the joiner to connect through the swarm key', 30_000, async () => {
        const { body } = await api<{ peerId: string }[]>(joiner.info.url, '/v1/peers');
        return body.some((p) => p.peerId === alpha.peerId) ? true : undefined;
      });
    });
  });

  describe('a daemon configured through the environment', () => {
    const dir = tempDir('cli-env-daemon');
    const key = 'env-api-key-0123456789abcdef';
    const keyFile = join(dir, 'api-key.secret');
    let daemon: DaemonProcess;
    let target: string[];
    afterAll(() => daemon?.child.kill('SIGTERM'));

    it('takes its config file, log level and API key from MESHWORK_*, and a client its key from a file', async () => {
      daemon = await startDaemonProcess(
        dir,
        {
          name: 'env-node',
          apiKey: undefined,
          agents: [{ id: 'runner', capacity: 4, executors: { shell: {} } }],
          workflows: {
            greet: {
              name: 'greet',
              params: ['who'],
              steps: [
                {
                  id: 'hello',
                  type: 'executor:shell',
                  input: { executor: '"shell"', argv: '("echo", "hello", params.who)' },
                },
                {
                  id: 'bye',
                  type: 'executor:shell',
                  input: { executor: '"shell"', argv: '("echo", "bye")' },
                },
              ],
            },
          },
        },
        { configFromEnv: true, env: { MESHWORK_LOG_LEVEL: 'debug', MESHWORK_API_KEY: key } },
      );
      writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
      target = ['--url', daemon.info.url, '--api-key-file', keyFile];
      // The key came from the environment: none was generated into the data dir.
      expect(existsSync(join(daemon.dataDir, 'api-key'))).toBe(false);
      const noKey = await runCli(['task', 'cancel', 'x', '--url', daemon.info.url]);
      expect(noKey.code).toBe(1);
      expect(noKey.stderr).toContain('401');
      const done = await runCli(['task', 'submit', ...target, '--wait', '30s', '--', 'echo', 'hi']);
      expect(done.code, done.stderr).toBe(0);
      expect(done.stdout).toMatch(/succeeded on runner: .*"stdout":"hi\\n"/);
      const badFile = await runCli([
        'task',
        'list',
        '--url',
        daemon.info.url,
        '--api-key-file',
        join(dir, 'nope'),
      ]);
      expect(badFile.code).toBe(1);
      expect(badFile.stderr).toContain(`cannot read the API key file ${join(dir, 'nope')}`);

      // Debug lines (from MESHWORK_LOG_LEVEL) with level labels, pino's pid and hostname, the
      // node's name, and no key written twice on a line.
      const lines = readFileSync(join(daemon.dataDir, 'daemon.log'), 'utf8').trim().split('\n');
      const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(entries.some((e) => e.level === 'debug' && e.msg === 'http request')).toBe(true);
      expect(entries.find((e) => e.msg === 'node started')).toMatchObject({
        level: 'info',
        pid: daemon.child.pid,
        hostname: hostname(),
        node: 'env-node',
        peerId: daemon.info.peerId,
      });
      for (const [i, entry] of entries.entries()) {
        expect(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).toContain(entry.level);
        expect(entry).toMatchObject({ pid: daemon.child.pid, hostname: hostname(), node: 'env-node' });
        const keys = topLevelKeys(lines[i]!);
        expect(keys, lines[i]).toEqual([...new Set(keys)]);
      }
    });

    it('starts, lists and shows workflow runs', async () => {
      const started = await runCli([
        'workflow',
        'start',
        'greet',
        '--params',
        '{"who":"mesh"}',
        '--id',
        'run-1',
        '--wait',
        '60s',
        ...target,
      ]);
      expect(started.code, started.stderr).toBe(0);
      expect(started.stdout.trim()).toBe('run-1 (greet) succeeded');
      const listed = await runCli(['workflow', 'list', ...target]);
      expect(listed.code, listed.stderr).toBe(0);
      expect(listed.stdout).toMatch(/run-1\s+greet\s+succeeded\s+2/);
      const shown = await runCli(['workflow', 'show', 'run-1', '--json', ...target]);
      expect(JSON.parse(shown.stdout)).toMatchObject({
        id: 'run-1',
        status: 'succeeded',
        steps: { hello: 'succeeded', bye: 'succeeded' },
      });
      const table = await runCli(['workflow', 'show', 'run-1', ...target]);
      expect(table.stdout).toMatch(/^run-1 \(greet\) succeeded\n/);
      expect(table.stdout).toMatch(/hello\s+succeeded/);

      const failing = join(dir, 'failing.json');
      writeFileSync(
        failing,
        JSON.stringify({
          name: 'failing',
          steps: [
            {
              id: 'no',
              type: 'executor:shell',
              input: { executor: '"shell"', argv: '("false", "now")' },
              retry: { maxAttempts: 1 },
            },
          ],
        }),
      );
      const failed = await runCli(['workflow', 'start', '--file', failing, '--wait', ...target]);
      expect(failed.code).toBe(1);
      expect(failed.stdout).toMatch(/\(failing\) failed/);
      const unknown = await runCli(['workflow', 'start', 'nope', ...target]);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain('400 template: no template named nope');
      const both = await runCli(['workflow', 'start', 'greet', '--file', failing, ...target]);
      expect(both.code).toBe(1);
      expect(both.stderr).toContain('give either a template name or --file <template.json>');
      const neither = await runCli(['workflow', 'start', ...target]);
      expect(neither.code).toBe(1);
      expect(neither.stderr).toContain('give either a template name or --file <template.json>');
      const missing = await runCli(['workflow', 'show', 'nope', ...target]);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('404');
    });

    it('gives up --wait at its deadline with exit 124, leaving the task or run going', async () => {
      const task = await runCli([
        'task',
        'submit',
        ...target,
        '--id',
        'slow',
        '--wait',
        '1s',
        '--',
        'sleep',
        '30',
      ]);
      expect(task.code).toBe(124);
      expect(task.stderr).toMatch(
        /^meshwork: task slow is still (pending|claimed|running) after 1s \(--wait\); it goes on: meshwork task show slow/,
      );
      const shown = await api<{ status: string }>(daemon.info.url, '/v1/tasks/slow');
      expect(['pending', 'claimed', 'running']).toContain(shown.body.status);

      const slow = join(dir, 'slow.json');
      writeFileSync(
        slow,
        JSON.stringify({
          name: 'slow',
          steps: [
            { id: 'nap', type: 'executor:shell', input: { executor: '"shell"', argv: '("sleep", "30")' } },
          ],
        }),
      );
      const run = await runCli([
        'workflow',
        'start',
        '--file',
        slow,
        '--id',
        'run-slow',
        '--wait',
        '1s',
        ...target,
      ]);
      expect(run.code).toBe(124);
      expect(run.stderr).toMatch(/^meshwork: workflow run-slow is still running after 1s \(--wait\)/);
      const bad = await runCli(['task', 'submit', ...target, '--wait', 'soon', '--', 'true']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('expected a duration such as 30s, 500ms, 5m or 1h');

      const runTasks = (await api<{ tasks: string[] }>(daemon.info.url, '/v1/workflows/run-slow')).body.tasks;
      for (const id of ['slow', ...runTasks]) {
        const cancelled = await runCli(['task', 'cancel', id, ...target]);
        expect(cancelled.code, cancelled.stderr).toBe(0);
      }
    });
  });
});

/** The keys of a JSON object's top level, in order and with repeats, which JSON.parse would merge. */
function topLevelKeys(json: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === '"') {
      let end = i + 1;
      while (json[end] !== '"') end += json[end] === '\\' ? 2 : 1;
      if (depth === 1 && json[end + 1] === ':') keys.push(JSON.parse(json.slice(i, end + 1)) as string);
      i = end;
    } else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
  }
  return keys;
}
