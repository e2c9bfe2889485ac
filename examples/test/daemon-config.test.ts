import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createClient, readDaemonInfo, type DaemonInfo } from '@meshwork/node';
import { resolveTarget } from '@meshwork/node/internal';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = join(root, 'packages/node/src/cli.ts');
const config = join(root, 'examples/daemon/alpha.json');

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function poll<T>(fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('examples/daemon/alpha.json', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'meshwork-example-alpha-'));
  const daemon = spawn(
    process.execPath,
    [cli, 'start', '--config', config, '--data-dir', dataDir, '--http-port', '0', '--log-level', 'warn'],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const exited = new Promise<number | null>((r) => daemon.once('exit', (code) => r(code)));
  afterAll(() => daemon.kill('SIGKILL'));

  it('runs shell and module tasks and the greet-all workflow, then stops cleanly on SIGTERM', async () => {
    const info = await poll<DaemonInfo>(() => Promise.resolve(readDaemonInfo(dataDir)));
    const target = ['--data-dir', dataDir];
    const shell = await run(['task', 'submit', ...target, '--id', 'os', '--', 'uname', '-s']);
    expect(shell.code, shell.stderr).toBe(0);
    const greet = await run([
      'task',
      'submit',
      ...target,
      '--id',
      'hi',
      '--handler',
      'greet',
      '--input',
      '"Ada"',
    ]);
    expect(greet.code, greet.stderr).toBe(0);

    const client = createClient(resolveTarget({ dataDir }));
    const hi = await poll(async () => {
      const t = await client.get<{ status: string; result: unknown }>('/v1/tasks/hi');
      return t.status === 'succeeded' ? t : undefined;
    });
    expect(hi.result).toEqual({ greeting: 'hello, Ada', epoch: 1 });

    const run1 = await client.post<{ id: string }>('/v1/workflows', {
      template: 'greet-all',
      params: { names: ['Ada', 'Grace'] },
    });
    const wf = await poll(async () => {
      const w = await client.get<{ status: string; steps: Record<string, string> }>(
        `/v1/workflows/${run1.id}`,
      );
      return w.status !== 'running' ? w : undefined;
    });
    expect(wf).toMatchObject({ status: 'succeeded', steps: { greet: 'succeeded', stamp: 'succeeded' } });

    const os = await client.get<{ status: string }>('/v1/tasks/os');
    expect(os.status).toBe('succeeded');
    expect(info.node).toBe('alpha');

    daemon.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(readDaemonInfo(dataDir)).toBeUndefined();
  });
});
