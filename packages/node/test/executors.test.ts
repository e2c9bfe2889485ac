import { createServer, type IncomingMessage, type Server } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Value } from '@meshwork/core';
import { parseConfig, type AgentConfig } from '../src/config.ts';
import {
  execute,
  ExecutorError,
  ExecutorInputError,
  ExecutorNotAllowedError,
  type ExecutionContext,
} from '../src/executors/index.ts';
import { heldCommand, tempDir, waitFor } from './support/processes.ts';

function context(signal = new AbortController().signal): ExecutionContext & { updates: Value[] } {
  const updates: Value[] = [];
  return { signal, epoch: 3, idempotencyKey: 'task-1', progress: (d) => updates.push(d), updates };
}

function agent(executors: object): AgentConfig {
  return parseConfig({ name: 'n', agents: [{ id: 'a1', executors }] }, process.cwd()).agents[0]!;
}

async function failure(p: Promise<unknown>): Promise<ExecutorError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ExecutorError);
    return err as ExecutorError;
  }
  throw new Error('expected the executor to fail');
}

const node = process.execPath;

describe('shell executor', () => {
  const shell = agent({ shell: { timeoutMs: 10_000 } });

  it('runs an argument vector without a shell and returns the exit code and output', async () => {
    const ctx = context();
    const result = await execute(shell, { executor: 'shell', argv: ['echo', 'a;b', '$HOME', '`x`'] }, ctx);
    expect(result).toMatchObject({ exitCode: 0, stdout: 'a;b $HOME `x`\n' });
  });

  it('streams stdout and stderr as progress while the command runs', async () => {
    const ctx = context();
    // The command prints its last line only once the test has seen the first ones as progress,
    // so "before it finished" holds however slowly either side runs.
    const release = join(tempDir('stream'), 'release');
    let finished = false;
    const argv = heldCommand(release, { firstLines: { stdout: 'one', stderr: 'warn' }, lastLine: 'two' });
    const run = execute(shell, { executor: 'shell', argv }, ctx).finally(() => (finished = true));
    const seen = (update: Value) => ctx.updates.some((u) => JSON.stringify(u) === JSON.stringify(update));
    await waitFor('the first lines as progress', 20_000, () =>
      seen({ stream: 'stdout', lines: ['one'] }) && seen({ stream: 'stderr', lines: ['warn'] })
        ? true
        : undefined,
    );
    expect(finished).toBe(false);
    writeFileSync(release, '');
    await run;
    expect(ctx.updates).toContainEqual({ stream: 'stdout', lines: ['two'] });
  });

  it('kills a command that outlives its timeout', async () => {
    const ctx = context();
    const err = await failure(
      execute(
        shell,
        {
          executor: 'shell',
          // sh starts in milliseconds, so its first line is out well before the timeout.
          argv: ['sh', '-c', 'echo start; exec sleep 30'],
          timeoutMs: 1_000,
        },
        ctx,
      ),
    );
    expect(err.code).toBe('timeout');
    expect(err.details.stdout).toBe('start\n');
  });

  it('fails a command that exits non-zero, with the exit code and stderr', async () => {
    const err = await failure(
      execute(
        shell,
        { executor: 'shell', argv: [node, '-e', 'console.error("boom"); process.exit(3)'] },
        context(),
      ),
    );
    expect(err.code).toBe('exit');
    expect(err.details).toMatchObject({ exitCode: 3, stderr: 'boom\n' });
  });

  it('reports a missing program as a spawn error', async () => {
    const err = await failure(execute(shell, { executor: 'shell', argv: ['/no/such/program'] }, context()));
    expect(err.code).toBe('spawn');
  });

  it('passes only allow-listed environment variables', async () => {
    process.env.MESHWORK_SECRET = 'hidden';
    const allowed = agent({ shell: { envAllow: ['PATH', 'GREETING'] } });
    const print = [
      node,
      '-e',
      'console.log(JSON.stringify([process.env.GREETING, process.env.MESHWORK_SECRET ?? null]))',
    ];
    const result = await execute(
      allowed,
      { executor: 'shell', argv: print, env: { GREETING: 'hi' }, output: 'json' },
      context(),
    );
    expect((result as { value: Value }).value).toEqual(['hi', null]);
    const err = await failure(
      execute(allowed, { executor: 'shell', argv: print, env: { OTHER: 'x' } }, context()),
    );
    expect(err.code).toBe('not_allowed');
  });

  it('stops the command when the signal aborts', async () => {
    const ac = new AbortController();
    const run = execute(
      shell,
      { executor: 'shell', argv: [node, '-e', 'setInterval(() => {}, 1000)'] },
      context(ac.signal),
    );
    setTimeout(() => ac.abort(new Error('cancelled')), 200);
    expect((await failure(run)).code).toBe('aborted');
  });

  it('rejects invalid input naming the field', async () => {
    const err = await failure(execute(shell, { executor: 'shell', argv: [] }, context()));
    expect(err).toBeInstanceOf(ExecutorInputError);
    expect(err.message).toContain('argv');
  });
});

describe('http executor', () => {
  let server: Server;
  let base = '';
  const seen: { method: string; body: string; key: string | undefined; epoch: string | undefined }[] = [];
  let flaky = 0;
  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({
          method: req.method ?? '',
          body,
          key: req.headers['idempotency-key'] as string | undefined,
          epoch: req.headers['meshwork-epoch'] as string | undefined,
        });
        if (req.url === '/flaky' && flaky++ < 2) return res.writeHead(503).end('busy');
        if (req.url === '/missing') return res.writeHead(404).end('nope');
        if (req.url === '/elsewhere')
          return res.writeHead(302, { location: 'http://example.invalid/' }).end();
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ echo: body, url: req.url }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const addr = server.address() as { port: number };
    base = `http://127.0.0.1:${addr.port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));
  const http = agent({ http: { retries: 3, backoffMs: 10 } });

  it('calls a local server with method, body, idempotency key and epoch', async () => {
    const result = await execute(
      http,
      { executor: 'http', method: 'POST', url: `${base}/items`, body: { n: 1 } },
      context(),
    );
    expect(result).toEqual({ status: 200, body: { echo: '{"n":1}', url: '/items' }, attempts: 1 });
    expect(seen.at(-1)).toEqual({ method: 'POST', body: '{"n":1}', key: 'task-1', epoch: '3' });
  });

  it('retries 5xx with backoff and reports each retry as progress', async () => {
    const ctx = context();
    const result = await execute(http, { executor: 'http', url: `${base}/flaky` }, ctx);
    expect(result).toMatchObject({ status: 200, attempts: 3 });
    expect(ctx.updates.filter((u) => (u as { http?: string }).http === 'retry')).toHaveLength(2);
  });

  it('fails at once on a 4xx status', async () => {
    const err = await failure(execute(http, { executor: 'http', url: `${base}/missing` }, context()));
    expect(err.details).toMatchObject({ status: 404, body: 'nope' });
  });

  it('does not follow redirects when the agent has a host allow-list', async () => {
    const fenced = agent({ http: { allowHosts: ['127.0.0.1'] } });
    const err = await failure(execute(fenced, { executor: 'http', url: `${base}/elsewhere` }, context()));
    expect(err.details).toMatchObject({ status: 302 });
    const other = await failure(execute(fenced, { executor: 'http', url: 'http://localhost:1/' }, context()));
    expect(other.code).toBe('not_allowed');
  });

  it('fails after the retries on a refused connection', async () => {
    const err = await failure(
      execute(http, { executor: 'http', url: 'http://127.0.0.1:1/', retries: 1 }, context()),
    );
    expect(err.code).toBe('network');
  });
});

describe('module executor and executor allow-list', () => {
  const dir = tempDir('module');
  writeFileSync(
    join(dir, 'double.mjs'),
    'export default async function (input, ctx) { ctx.progress({ half: true }); return { doubled: input.n * 2, epoch: ctx.epoch }; }',
  );
  const mod = parseConfig(
    { name: 'n', agents: [{ id: 'm', executors: { module: { handlers: { double: 'double.mjs' } } } }] },
    dir,
  ).agents[0]!;

  it('calls the configured handler with the input and context', async () => {
    const ctx = context();
    expect(await execute(mod, { executor: 'module', handler: 'double', input: { n: 21 } }, ctx)).toEqual({
      doubled: 42,
      epoch: 3,
    });
    expect(ctx.updates).toEqual([{ half: true }]);
  });

  it('refuses a handler that is not configured', async () => {
    const err = await failure(execute(mod, { executor: 'module', handler: '../etc/passwd' }, context()));
    expect(err.code).toBe('not_allowed');
  });

  it('refuses an executor the agent config does not name', async () => {
    const err = await failure(execute(mod, { executor: 'shell', argv: ['true'] }, context()));
    expect(err).toBeInstanceOf(ExecutorNotAllowedError);
  });
});
