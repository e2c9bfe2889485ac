import { createServer, type IncomingMessage, type Server } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/config-error.ts';
import { loadConfig, parseConfig } from '../src/config.ts';
import { startDaemon, type Daemon } from '../src/daemon.ts';
import { api, API_KEY, freePort, startDaemonProcess, tempDir, waitFor } from './support/processes.ts';

/** A module handler that reports progress once, then succeeds. */
const WORK_MODULE = `export default async (input, ctx) => {
  ctx.progress({ step: 'half' });
  await new Promise((r) => setTimeout(r, 20));
  return { done: input };
};
`;

function nodeConfig(
  dir: string,
  name: string,
  work: string,
  options: { agent: boolean; bootstrap?: string[] },
) {
  return parseConfig(
    {
      name,
      dataDir: join(dir, name),
      apiKey: API_KEY,
      http: { port: 0 },
      logLevel: 'silent',
      bootstrap: options.bootstrap ?? [],
      agents: options.agent
        ? [{ id: `agent-${name}`, capacity: 4, executors: { module: { handlers: { work } } } }]
        : [],
      workflows: {
        pair: {
          name: 'pair',
          steps: ['first', 'second'].map((id) => ({
            id,
            type: 'executor:module',
            input: { executor: '"module"', handler: '"work"', input: `"${id}"` },
          })),
        },
      },
    },
    dir,
  );
}

const workTask = (id: string) => ({ id, input: { executor: 'module', handler: 'work', input: id } });

async function succeeded(url: string, id: string): Promise<void> {
  await waitFor(`${id} to succeed`, 30_000, async () => {
    const { body } = await api<{ status: string }>(url, `/v1/tasks/${id}`);
    return body.status === 'succeeded' ? true : undefined;
  });
}

const nodeOf = (s: ReadableSpan): unknown => s.resource.attributes['meshwork.node'];
const taskOf = (s: ReadableSpan): unknown => s.attributes['meshwork.task.id'];
const byIdOf = (spans: ReadableSpan[]): Map<string, ReadableSpan> =>
  new Map(spans.map((s) => [s.spanContext().spanId, s]));

describe('traces across a three-node mesh', () => {
  const daemons: Daemon[] = [];
  afterAll(async () => {
    await Promise.all(daemons.map((d) => d.stop()));
  });

  it('gives each task one trace, from the submit on one node to the claims and attempts on others, a workflow run one trace, and traces sync rounds', async () => {
    const dir = tempDir('tracing');
    const work = join(dir, 'work.mjs');
    writeFileSync(work, WORK_MODULE);
    const exporters = {
      a: new InMemorySpanExporter(),
      b: new InMemorySpanExporter(),
      c: new InMemorySpanExporter(),
    };
    // Node a has no agent: every task it submits runs on b or c.
    const a = await startDaemon(nodeConfig(dir, 'a', work, { agent: false }), { spanExporter: exporters.a });
    daemons.push(a);
    for (const name of ['b', 'c'] as const) {
      const config = nodeConfig(dir, name, work, { agent: true, bootstrap: a.multiaddrs });
      daemons.push(await startDaemon(config, { spanExporter: exporters[name] }));
    }
    await waitFor('both agents to be live on a', 20_000, async () => {
      const { body } = await api<{ live: boolean }[]>(a.url, '/v1/agents');
      return body.filter((x) => x.live).length === 2 ? true : undefined;
    });

    const ids = Array.from({ length: 6 }, (_, i) => `traced-${i}`);
    for (const id of ids.slice(1))
      expect((await api(a.url, '/v1/tasks', { body: workTask(id) })).status).toBe(201);
    // The first comes from a caller that is itself traced: its trace continues into the mesh.
    const callerTrace = '0af7651916cd43dd8448eb211c80319c';
    const callerSpan = 'b7ad6b7169203331';
    const res = await fetch(`${a.url}/v1/tasks`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${API_KEY}`,
        'content-type': 'application/json',
        traceparent: `00-${callerTrace}-${callerSpan}-01`,
      },
      body: JSON.stringify(workTask(ids[0]!)),
    });
    expect(res.status).toBe(201);
    for (const id of ids) await succeeded(a.url, id);

    const all = (): ReadableSpan[] => Object.values(exporters).flatMap((e) => e.getFinishedSpans());
    await waitFor('every attempt span to be exported', 20_000, () => {
      const attempts = all().filter((s) => s.name === 'meshwork.task.attempt');
      return ids.every((id) => attempts.some((s) => taskOf(s) === id)) ? true : undefined;
    });
    const spans = all();
    const byId = byIdOf(spans);
    const nodesSeen = new Set<unknown>();
    for (const id of ids) {
      const mine = spans.filter((s) => taskOf(s) === id);
      const traceIds = new Set(mine.map((s) => s.spanContext().traceId));
      expect(traceIds.size, id).toBe(1);
      const [traceId] = traceIds;
      const one = (name: string): ReadableSpan => {
        const found = mine.filter((s) => s.name === name);
        expect(found, `${id}: ${name}`).toHaveLength(1);
        return found[0]!;
      };
      const submit = one('meshwork.task.submit');
      const attempt = one('meshwork.task.attempt');
      expect(nodeOf(submit)).toBe('a');
      expect(['b', 'c']).toContain(nodeOf(attempt));
      expect(attempt.attributes['meshwork.attempt.outcome']).toBe('succeeded');
      expect(attempt.attributes['meshwork.task.epoch']).toBe(1);
      expect(attempt.events.map((e) => e.name)).toEqual(['progress']);
      // The attempt runs under its node's winning claim, which is a child of the submit.
      const claim = byId.get(attempt.parentSpanContext!.spanId)!;
      expect(claim.name).toBe('meshwork.task.claim');
      expect(nodeOf(claim)).toBe(nodeOf(attempt));
      expect(claim.attributes['meshwork.claim.outcome']).toBe('won');
      for (const c of mine.filter((s) => s.name === 'meshwork.task.claim'))
        expect(c.parentSpanContext?.spanId).toBe(submit.spanContext().spanId);
      // The submit is a child of the HTTP request that made it, on node a.
      const request = byId.get(submit.parentSpanContext!.spanId)!;
      expect(request.name).toBe('POST /v1/tasks');
      expect(nodeOf(request)).toBe('a');
      expect(request.spanContext().traceId).toBe(traceId);
      expect(request.attributes['http.response.status_code']).toBe(201);
      expect((await api<{ traceId?: string }>(a.url, `/v1/tasks/${id}`)).body.traceId).toBe(traceId);
      if (id === ids[0]) {
        expect(traceId).toBe(callerTrace);
        expect(request.parentSpanContext?.spanId).toBe(callerSpan);
      } else expect(request.parentSpanContext).toBeUndefined();
      for (const s of mine) nodesSeen.add(nodeOf(s));
    }
    expect(nodesSeen.size).toBeGreaterThan(1);
    expect(new Set(ids.map((id) => spans.find((s) => taskOf(s) === id)!.spanContext().traceId)).size).toBe(
      ids.length,
    );
    // Anti-entropy rounds (the catch-up of b and c with a, at least) are traces of their own.
    const rounds = spans.filter((s) => s.name === 'meshwork.sync.round');
    expect(rounds.length).toBeGreaterThan(0);
    expect(rounds.every((r) => r.parentSpanContext === undefined)).toBe(true);
    expect(rounds.some((r) => r.attributes['meshwork.sync.initiator'] === true)).toBe(true);

    // A workflow run is one trace: its tasks' spans are children of the run's start.
    expect((await api(a.url, '/v1/workflows', { body: { template: 'pair', id: 'wf-traced' } })).status).toBe(
      201,
    );
    await waitFor('the workflow to succeed', 30_000, async () => {
      const { body } = await api<{ status: string }>(a.url, '/v1/workflows/wf-traced');
      return body.status === 'succeeded' ? true : undefined;
    });
    const run = await waitFor("both steps' attempt spans", 20_000, () => {
      const start = all().find((s) => s.name === 'meshwork.workflow.start');
      const inRun = all().filter((s) => s.spanContext().traceId === start?.spanContext().traceId);
      return inRun.filter((s) => s.name === 'meshwork.task.attempt').length === 2
        ? { start: start!, inRun }
        : undefined;
    });
    expect(nodeOf(run.start)).toBe('a');
    expect(run.start.attributes['meshwork.workflow.run']).toBe('wf-traced');
    expect(byIdOf(all()).get(run.start.parentSpanContext!.spanId)?.name).toBe('POST /v1/workflows');
    const stepTasks = new Set(run.inRun.filter((s) => s.name === 'meshwork.task.attempt').map(taskOf));
    expect(stepTasks.size).toBe(2);
    for (const c of run.inRun.filter((s) => s.name === 'meshwork.task.claim'))
      expect(c.parentSpanContext?.spanId).toBe(run.start.spanContext().spanId);

    // Probes are not traced.
    await api(a.url, '/healthz');
    expect(spans.some((s) => s.attributes['url.path'] === '/healthz')).toBe(false);
  }, 120_000);
});

describe('trace context handed on to executors and pull workers', () => {
  let daemon: Daemon | undefined;
  let echo: Server | undefined;
  afterAll(async () => {
    await daemon?.stop();
    if (echo !== undefined) await new Promise((r) => echo!.close(r));
  });

  it("sends the attempt's context to HTTP calls as a traceparent header, to commands as TRACEPARENT and to pull workers with the task", async () => {
    const dir = tempDir('tracing-executors');
    // Answers every request with the headers it came with.
    echo = createServer((req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(req.headers)),
    );
    await new Promise<void>((r) => echo!.listen(0, '127.0.0.1', r));
    const exporter = new InMemorySpanExporter();
    daemon = await startDaemon(
      parseConfig(
        {
          name: 'executing',
          dataDir: join(dir, 'data'),
          apiKey: API_KEY,
          http: { port: 0 },
          logLevel: 'silent',
          agents: [{ id: 'runner', capacity: 2, executors: { http: {}, shell: {} } }],
        },
        dir,
      ),
      { spanExporter: exporter },
    );
    const { url } = daemon;
    // A pull worker, which gets the context with the task.
    const registered = await api<{ workerId: string }>(url, '/v1/workers', {
      body: { id: 'puller', capabilities: ['pull'] },
    });
    expect(registered.status).toBe(201);
    const worker = `/v1/workers/${registered.body.workerId}`;
    expect(
      (await api(url, '/v1/tasks', { body: { id: 'pulled', needs: ['pull'], input: { n: 1 } } })).status,
    ).toBe(201);
    const polled = await api<{ tasks: { taskId: string; epoch: number; traceparent?: string }[] }>(
      url,
      `${worker}/poll`,
      {
        body: { waitMs: 10_000 },
      },
    );
    const [assignment] = polled.body.tasks;
    expect(assignment?.taskId).toBe('pulled');
    expect(
      (await api(url, `${worker}/tasks/pulled/complete`, { body: { epoch: assignment!.epoch } })).status,
    ).toBe(200);
    await succeeded(url, 'pulled');

    const tasks = {
      call: { executor: 'http', url: `http://127.0.0.1:${(echo.address() as AddressInfo).port}/` },
      command: {
        executor: 'shell',
        argv: [process.execPath, '-e', 'process.stdout.write(process.env.TRACEPARENT ?? "none")'],
      },
    };
    for (const [id, input] of Object.entries(tasks)) {
      expect((await api(url, '/v1/tasks', { body: { id, input } })).status).toBe(201);
      await succeeded(url, id);
    }
    const attempts = await waitFor('the three attempt spans', 20_000, () => {
      const found = exporter.getFinishedSpans().filter((s) => s.name === 'meshwork.task.attempt');
      return found.length === 3 ? found : undefined;
    });
    const expected = (id: string): string => {
      const span = attempts.find((s) => taskOf(s) === id)!.spanContext();
      return `00-${span.traceId}-${span.spanId}-01`;
    };
    const result = async <T>(id: string): Promise<T> =>
      (await api<{ result: T }>(url, `/v1/tasks/${id}`)).body.result;
    expect((await result<{ body: { traceparent?: string } }>('call')).body.traceparent).toBe(
      expected('call'),
    );
    expect((await result<{ stdout: string }>('command')).stdout).toBe(expected('command'));
    expect(assignment!.traceparent).toBe(expected('pulled'));
  });
});

describe('tracing off', () => {
  let daemon: Daemon | undefined;
  afterAll(() => daemon?.stop());

  it('gives a task no trace: no traceId, no context handed to its command', async () => {
    const dir = tempDir('tracing-off');
    daemon = await startDaemon(
      parseConfig(
        {
          name: 'untraced',
          dataDir: join(dir, 'data'),
          apiKey: API_KEY,
          http: { port: 0 },
          logLevel: 'silent',
          agents: [{ id: 'runner', executors: { shell: {} } }],
        },
        dir,
      ),
    );
    const input = {
      executor: 'shell',
      argv: [process.execPath, '-e', 'process.stdout.write(String(process.env.TRACEPARENT))'],
    };
    expect((await api(daemon.url, '/v1/tasks', { body: { id: 'plain', input } })).status).toBe(201);
    await succeeded(daemon.url, 'plain');
    const { body } = await api<{ traceId?: string; result: { stdout: string } }>(
      daemon.url,
      '/v1/tasks/plain',
    );
    expect(body.traceId).toBeUndefined();
    expect(body.result.stdout).toBe('undefined');
  });
});

interface OtlpExport {
  resourceSpans: {
    resource: { attributes: { key: string; value: { stringValue?: string } }[] };
    scopeSpans: {
      spans: { name: string; traceId: string; attributes: { key: string; value: unknown }[] }[];
    }[];
  }[];
}

/** An OTLP/HTTP collector stand-in: keeps every export it is sent, with its headers. */
async function collector(): Promise<{
  server: Server;
  url: string;
  received: { headers: IncomingMessage['headers']; body: OtlpExport }[];
}> {
  const received: { headers: IncomingMessage['headers']; body: OtlpExport }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/traces')
        received.push({
          headers: req.headers,
          body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpExport,
        });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}

describe('OTLP export from a daemon process', () => {
  it('sends the spans of a task to the configured collector, with the configured headers, flushing at shutdown', async () => {
    const dir = tempDir('otlp');
    const work = join(dir, 'work.mjs');
    writeFileSync(work, WORK_MODULE);
    const stub = await collector();
    try {
      const daemon = await startDaemonProcess(dir, {
        name: 'exporting',
        telemetry: {
          otlp: { url: `${stub.url}/v1/traces`, headers: { 'x-collector-key': 'k-123' } },
          serviceName: 'meshwork-test',
        },
        agents: [{ id: 'worker', executors: { module: { handlers: { work } } } }],
      });
      const { url } = daemon.info;
      expect((await api(url, '/v1/tasks', { body: workTask('exported') })).status).toBe(201);
      await succeeded(url, 'exported');
      daemon.child.kill('SIGTERM');
      expect(await daemon.exited).toBe(0);

      const exported = stub.received.flatMap((r) => r.body.resourceSpans);
      expect(stub.received.every((r) => r.headers['x-collector-key'] === 'k-123')).toBe(true);
      const attrs = exported[0]!.resource.attributes;
      expect(attrs.find((a) => a.key === 'service.name')?.value.stringValue).toBe('meshwork-test');
      expect(attrs.find((a) => a.key === 'meshwork.node')?.value.stringValue).toBe('exporting');
      const spans = exported.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
      const ofTask = spans.filter((s) =>
        s.attributes.some(
          (a) => a.key === 'meshwork.task.id' && JSON.stringify(a.value).includes('exported'),
        ),
      );
      expect(new Set(ofTask.map((s) => s.name))).toEqual(
        new Set(['meshwork.task.submit', 'meshwork.task.claim', 'meshwork.task.attempt']),
      );
      expect(new Set(ofTask.map((s) => s.traceId)).size).toBe(1);
    } finally {
      await new Promise((r) => stub.server.close(r));
    }
  }, 60_000);
});

describe('OTLP export to a collector that is down', () => {
  it('logs that spans were not exported, once, and runs and stops as usual', async () => {
    const dir = tempDir('otlp-down');
    const work = join(dir, 'work.mjs');
    writeFileSync(work, WORK_MODULE);
    const daemon = await startDaemonProcess(dir, {
      name: 'unheard',
      telemetry: { otlp: { url: `http://127.0.0.1:${await freePort()}/v1/traces` } },
      agents: [{ id: 'worker', executors: { module: { handlers: { work } } } }],
    });
    const { url } = daemon.info;
    expect((await api(url, '/v1/tasks', { body: workTask('unexported') })).status).toBe(201);
    await succeeded(url, 'unexported');
    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);
    const log = readFileSync(join(daemon.dataDir, 'daemon.log'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { level: string; msg: string });
    expect(log.filter((l) => l.msg === 'spans not exported').map((l) => l.level)).toEqual(['warn']);
    expect(log.at(-1)?.msg).toBe('stopped');
  }, 60_000);
});

describe('telemetry config', () => {
  const refused = (telemetry: unknown): string => {
    try {
      parseConfig({ name: 'n', telemetry }, '/tmp');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
    throw new Error('accepted');
  };

  it('refuses a bad telemetry config, naming the field', () => {
    expect(refused({ otlp: { url: 'ftp://x/v1/traces' } })).toMatch(
      /telemetry\.otlp\.url: expected an http\(s\) URL/,
    );
    expect(refused({ otlp: { url: 'http://x:4318/v1/traces' }, sampleRatio: 2 })).toMatch(
      /telemetry\.sampleRatio: expected a number from 0 to 1/,
    );
    expect(refused({ serviceName: 'svc' })).toMatch(/telemetry\.otlp: expected otlp: \{ url \}/);
    expect(refused({ otlp: { url: 'http://x:4318/v1/traces', headers: { 'bad header': 'v' } } })).toMatch(
      /telemetry\.otlp\.headers\.bad header/,
    );
    expect(refused({ otlp: { url: 'http://x:4318/v1/traces' }, exporter: 'zipkin' })).toMatch(
      /telemetry\.exporter: unknown key/,
    );
  });

  it('is off by default, and takes the collector from OTEL_EXPORTER_OTLP_ENDPOINT', () => {
    const dir = tempDir('telemetry-config');
    expect(loadConfig(undefined, { name: 'n' }, dir).telemetry).toBeUndefined();
    const fromEnv = loadConfig(undefined, { name: 'n' }, dir, {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/',
    });
    expect(fromEnv.telemetry).toEqual({
      otlp: { url: 'http://collector:4318/v1/traces', headers: {} },
      serviceName: 'meshwork',
      sampleRatio: 1,
    });
    expect(() =>
      loadConfig(undefined, { name: 'n' }, dir, { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }),
    ).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT: expected an http\(s\) URL/);
  });
});
