import { writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, startDaemonProcess, tempDir, waitFor, type DaemonProcess } from './support/processes.ts';

describe('meshwork CLI', () => {
  it('has --help on every command', async () => {
    const commands = [
      [],
      ['start'],
      ['demo'],
      ['task'],
      ['task', 'submit'],
      ['task', 'list'],
      ['task', 'show'],
      ['task', 'cancel'],
      ['agents'],
      ['peers'],
      ['status'],
    ];
    const results = await Promise.all(commands.map((c) => runCli([...c, '--help'])));
    results.forEach((r, i) => {
      expect(r.code, commands[i]!.join(' ')).toBe(0);
      expect(r.stdout).toContain('Usage: meshwork');
    });
    expect(results[0]!.stdout).toMatch(/start[\s\S]*demo[\s\S]*task[\s\S]*agents[\s\S]*peers[\s\S]*status/);
    expect(results[1]!.stdout).toContain('--http-port');
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
    // Independent processes: run them side by side.
    const [r, flag, listen, psk] = await Promise.all([
      runCli(['start', '--config', file]),
      runCli(['start', '--name', 'x', '--http-port', 'abc']),
      runCli(['start', ...common('listen'), '--listen', '/ip4/not-an-ip/tcp/1']),
      runCli(['start', ...common('psk'), '--psk-file', join(dir, 'missing.key')]),
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
      const [mesh, http] = await Promise.all([
        runCli(['start', ...common('mesh'), '--http-port', '0', '--listen', `/ip4/127.0.0.1/tcp/${port}`]),
        runCli(['start', ...common('http'), '--http-port', String(port)]),
      ]);
      expect(mesh.code).toBe(75);
      expect(mesh.stderr).toContain(
        `meshwork: listen address /ip4/127.0.0.1/tcp/${port} is in use (set listen)`,
      );
      expect(http.code).toBe(75);
      expect(http.stderr).toContain(`meshwork: listen address 127.0.0.1:${port} is in use (set http.port)`);
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
      const listed = await runCli(['task', 'list', ...target, '--state', 'cancelled', '--json']);
      expect(JSON.parse(listed.stdout)).toEqual([
        expect.objectContaining({ id: 'nap', status: 'cancelled' }),
      ]);

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
});
