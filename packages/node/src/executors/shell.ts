import { spawn } from 'node:child_process';
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import type { Value } from '@meshwork/core';
import type { ShellSettings } from '../config.ts';
import { parseInput } from './input.ts';
import { abortError, ExecutorError, type ExecutionContext } from './types.ts';
import { traceEnv } from '../telemetry/propagation.ts';

/** The OS takes C strings: one with a NUL byte can never be passed to a program. */
const osString = z.string().refine((s) => !s.includes('\0'), 'must not contain a NUL character');

export const shellInput = z.strictObject({
  executor: z.literal('shell'),
  /** Program and arguments, passed to the OS as-is: no shell, no globbing, no interpolation. */
  argv: z
    .array(osString)
    .min(1, 'expected at least the program name')
    .refine((argv) => argv[0] !== '', { message: 'expected a program name', path: [0] }),
  /** Relative to the agent's configured cwd. */
  cwd: osString.optional(),
  /** Extra variables; only names on the agent's envAllow list are accepted. */
  env: z.record(osString.regex(/^[^=]+$/, 'expected a variable name without "="'), osString).optional(),
  stdin: z.string().optional(),
  timeoutMs: z.number().int().positive().optional(),
  /** `json` parses stdout into `result.value`. */
  output: z.enum(['text', 'json']).default('text'),
});
export type ShellInput = z.input<typeof shellInput>;

/** Output lines are gathered for this long before they become one progress update. */
const PROGRESS_INTERVAL_MS = 100;
const KILL_GRACE_MS = 2_000;

class Tail {
  private chunks: Buffer[] = [];
  private size = 0;
  private readonly max: number;
  constructor(max: number) {
    this.max = max;
  }
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > this.max && this.chunks.length > 1) {
      this.size -= this.chunks.shift()!.length;
    }
  }
  text(): string {
    const all = Buffer.concat(this.chunks);
    if (all.length <= this.max) return all.toString('utf8');
    return all.subarray(all.length - this.max).toString('utf8');
  }
}

/**
 * Runs a program with an argument vector. Output is streamed as progress
 * (`{ stream, lines }`), kept (tail) for the result, and a non-zero exit fails the attempt
 * with the exit code in the error details.
 */
export async function runShell(
  input: unknown,
  settings: ShellSettings,
  ctx: ExecutionContext,
): Promise<{ [key: string]: Value }> {
  const spec = parseInput(shellInput, input);
  const [program, ...args] = spec.argv as [string, ...string[]];
  if (settings.allowCommands && !settings.allowCommands.includes(program)) {
    throw new ExecutorError('not_allowed', `command ${program} is not on this agent's allowCommands list`, {
      command: program,
    });
  }
  const env: Record<string, string> = {};
  for (const name of settings.envAllow) {
    const v = process.env[name];
    if (v !== undefined) env[name] = v;
  }
  for (const [name, v] of Object.entries(spec.env ?? {})) {
    if (!settings.envAllow.includes(name)) {
      throw new ExecutorError(
        'not_allowed',
        `environment variable ${name} is not on this agent's envAllow list`,
        {
          variable: name,
        },
      );
    }
    env[name] = v;
  }
  // The attempt's fencing token and idempotency key, as the HTTP executor sends them in headers.
  env.MESHWORK_EPOCH = String(ctx.epoch);
  env.MESHWORK_IDEMPOTENCY_KEY = ctx.idempotencyKey;
  // The attempt's trace context, so a traced program's spans join the task's trace.
  Object.assign(env, traceEnv());
  const base = settings.cwd ?? process.cwd();
  const cwd = spec.cwd === undefined ? base : isAbsolute(spec.cwd) ? spec.cwd : resolve(base, spec.cwd);
  const timeoutMs = Math.min(spec.timeoutMs ?? settings.timeoutMs, settings.timeoutMs);
  if (ctx.signal.aborted) throw abortError(ctx.signal);

  const started = Date.now();
  // A process group of its own, so a timeout or cancel also ends whatever the program started.
  const child = spawn(program, args, {
    cwd,
    env,
    shell: false,
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const stdout = new Tail(settings.maxOutputBytes);
  const stderr = new Tail(settings.maxOutputBytes);
  const pending: { stdout: string[]; stderr: string[] } = { stdout: [], stderr: [] };
  const partial = { stdout: '', stderr: '' };
  let flushTimer: NodeJS.Timeout | undefined;
  const flush = (): void => {
    flushTimer = undefined;
    for (const stream of ['stdout', 'stderr'] as const) {
      if (pending[stream].length === 0) continue;
      ctx.progress({ stream, lines: pending[stream] });
      pending[stream] = [];
    }
  };
  const collect = (stream: 'stdout' | 'stderr', tail: Tail) => (chunk: Buffer) => {
    tail.push(chunk);
    const text = partial[stream] + chunk.toString('utf8');
    const lines = text.split('\n');
    partial[stream] = lines.pop() ?? '';
    if (lines.length > 0) {
      pending[stream].push(...lines);
      flushTimer ??= setTimeout(flush, PROGRESS_INTERVAL_MS);
    }
  };
  child.stdout.on('data', collect('stdout', stdout));
  child.stderr.on('data', collect('stderr', stderr));
  child.stdin.on('error', () => {}); // the program may exit without reading its input
  child.stdin.end(spec.stdin ?? '');

  let stopReason: 'timeout' | 'aborted' | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  const stop = (reason: 'timeout' | 'aborted'): void => {
    if (stopReason !== undefined || child.exitCode !== null) return;
    stopReason = reason;
    signalGroup(child.pid, 'SIGTERM');
    killTimer = setTimeout(() => signalGroup(child.pid, 'SIGKILL'), KILL_GRACE_MS);
  };
  const timer = setTimeout(() => stop('timeout'), timeoutMs);
  const onAbort = (): void => stop('aborted');
  ctx.signal.addEventListener('abort', onAbort, { once: true });

  try {
    const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
      (resolveExit, reject) => {
        child.once('error', (err: NodeJS.ErrnoException) =>
          reject(
            new ExecutorError('spawn', `cannot run ${program}: ${err.message}`, { code: err.code ?? null }),
          ),
        );
        child.once('close', (c, s) => resolveExit({ code: c, signal: s }));
      },
    );
    for (const stream of ['stdout', 'stderr'] as const) {
      if (partial[stream] !== '') pending[stream].push(partial[stream]);
    }
    if (flushTimer !== undefined) clearTimeout(flushTimer);
    flush();
    const out = { stdout: stdout.text(), stderr: stderr.text() };
    const durationMs = Date.now() - started;
    if (stopReason === 'aborted') throw abortError(ctx.signal);
    if (stopReason === 'timeout') {
      throw new ExecutorError('timeout', `${program} timed out after ${timeoutMs} ms`, {
        timeoutMs,
        stderr: out.stderr,
        stdout: out.stdout,
      });
    }
    if (code !== 0) {
      const why = code === null ? `signal ${signal}` : `code ${code}`;
      const lastLine = out.stderr.trimEnd().split('\n').at(-1)?.slice(-200) ?? '';
      throw new ExecutorError('exit', `${program} exited with ${why}${lastLine ? `: ${lastLine}` : ''}`, {
        exitCode: code,
        signal,
        stderr: out.stderr,
        stdout: out.stdout,
      });
    }
    const result: { [key: string]: Value } = { exitCode: 0, ...out, durationMs };
    if (spec.output === 'json') {
      try {
        result.value = JSON.parse(out.stdout) as Value;
      } catch {
        throw new ExecutorError('output', `${program} did not print JSON on stdout`, { stdout: out.stdout });
      }
    }
    return result;
  } finally {
    clearTimeout(timer);
    if (killTimer !== undefined) clearTimeout(killTimer);
    ctx.signal.removeEventListener('abort', onAbort);
  }
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}
