import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readDaemonInfo, type DaemonInfo } from '../../src/client.ts';

export const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
export const API_KEY = 'test-api-key-0123456789abcdef';

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `meshwork-${prefix}-`));
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined> | T | undefined,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
    await sleep(50);
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Runs the CLI to completion. */
export function runCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export interface DaemonProcess {
  child: ChildProcess;
  info: DaemonInfo;
  dataDir: string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/**
 * Starts `meshwork start` as a child process with the given config and waits until it serves
 * (at most `timeoutMs`). `env` is added to the child's environment; with `configFromEnv` the file
 * is named by `MESHWORK_CONFIG` instead of `--config`. A `supervised` daemon stops itself when
 * this process dies (its stdin closes), so a runner killed midway leaves no daemons behind.
 * `cli` is the `meshwork` entry point to run: the sources' by default, or an installed package's.
 */
export async function startDaemonProcess(
  dir: string,
  config: Record<string, unknown>,
  options: {
    env?: NodeJS.ProcessEnv;
    configFromEnv?: boolean;
    supervised?: boolean;
    timeoutMs?: number;
    cli?: string;
  } = {},
): Promise<DaemonProcess> {
  const dataDir = join(dir, String(config.name));
  mkdirSync(dataDir, { recursive: true });
  const file = join(dir, `${String(config.name)}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      dataDir,
      apiKey: API_KEY,
      http: { port: 0 },
      logFile: join(dataDir, 'daemon.log'),
      ...config,
    }),
  );
  const viaEnv = options.configFromEnv === true;
  const supervised = options.supervised === true;
  const child = spawn(
    process.execPath,
    [
      options.cli ?? CLI,
      'start',
      ...(viaEnv ? [] : ['--config', file]),
      ...(supervised ? ['--stop-on-stdin-close'] : []),
    ],
    {
      env: { ...process.env, ...options.env, ...(viaEnv ? { MESHWORK_CONFIG: file } : {}) },
      stdio: ['pipe', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let gone = false;
  void exited.then(() => (gone = true));
  const info = await waitFor(`${String(config.name)} to start`, options.timeoutMs ?? 30_000, () => {
    if (gone) throw new Error(`daemon exited: ${stderr}`);
    const i = readDaemonInfo(dataDir);
    return i?.pid === child.pid ? i : undefined;
  }).catch((err: unknown) => {
    // A daemon that did not come up in time is not left running behind the failure.
    child.kill('SIGKILL');
    throw err;
  });
  return { child, info, dataDir, stderr: () => stderr, exited };
}

export async function api<T = unknown>(
  url: string,
  path: string,
  init: { method?: string; body?: unknown; key?: string | null; timeoutMs?: number } = {},
): Promise<{ status: number; body: T }> {
  const key = init.key === undefined ? API_KEY : init.key;
  const res = await fetch(url + path, {
    method: init.method ?? (init.body !== undefined ? 'POST' : 'GET'),
    ...(init.timeoutMs !== undefined ? { signal: AbortSignal.timeout(init.timeoutMs) } : {}),
    headers: {
      ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(key !== null ? { authorization: `Bearer ${key}` } : {}),
    },
    body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON (metrics).
  }
  return { status: res.status, body: body as T };
}

/**
 * A command that runs until `release` exists, then prints `lastLine` (if given) and exits: tests
 * decide when a task may finish instead of guessing how long the machine needs. `firstLines`
 * go to stdout and stderr at once.
 */
export function heldCommand(
  release: string,
  options: { firstLines?: { stdout: string; stderr: string }; lastLine?: string } = {},
): string[] {
  const first = options.firstLines
    ? `console.log(${JSON.stringify(options.firstLines.stdout)}); console.error(${JSON.stringify(options.firstLines.stderr)});`
    : '';
  const last = options.lastLine !== undefined ? `console.log(${JSON.stringify(options.lastLine)});` : '';
  const script = `${first} const t = setInterval(() => { if (require('fs').existsSync(${JSON.stringify(release)})) { clearInterval(t); ${last} } }, 20);`;
  return [process.execPath, '-e', script];
}
