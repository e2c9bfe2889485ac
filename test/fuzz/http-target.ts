import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import { MEMBER_TYPES, parseConfig, startDaemon, type MemberType } from '@meshwork/node';
import { createRng, type Rng } from '../sim/prng.ts';
import { failureKind, MAX_FAILURES, type Bounds, type FuzzFailure } from './byte-loop.ts';
import { mutate, toHex } from './mutate.ts';

const API_KEY = 'fuzz-api-key-0123456789abcdef0123';
/** Shared memory: one member per type, so most bodies meet a member of their own type. */
const MEMORY = '/v1/memory/fuzz';
const ROUTES = ['/v1/tasks', '/v1/workflows', ...MEMBER_TYPES.map((t) => `${MEMORY}/${t}`)] as const;
/** A request that takes longer is reported as hung. */
const REQUEST_TIMEOUT_MS = 10_000;

const template = {
  name: 'pair',
  steps: [
    { id: 'first', type: 'executor:shell', input: { executor: '"shell"', argv: '("echo", "one")' } },
    { id: 'second', type: 'executor:shell', input: { executor: '"shell"', argv: '("echo", params.word)' } },
  ],
};

/** The route of shared-memory member `type`. */
const memoryRoute = (type: MemberType): number => 2 + MEMBER_TYPES.indexOf(type);

/** Valid request bodies, by route. The daemon has no agents: accepted tasks are stored, never run. */
const bodies: readonly [route: number, body: unknown][] = [
  [0, { input: { executor: 'shell', argv: ['echo', 'hello'] } }],
  [
    0,
    {
      id: 'task-1',
      type: 'build',
      input: { executor: 'shell', argv: ['make', '-j2'], env: { CI: '1' }, timeoutMs: 5000, output: 'json' },
      needs: ['gpu'],
      priority: 5,
      dependsOn: ['task-0'],
      resources: { gpu: 1 },
      retry: { maxAttempts: 3, backoff: { initialMs: 100 } },
      timeouts: { scheduleToStartMs: 60_000, runMs: 10_000 },
      idempotencyKey: 'key-1',
    },
  ],
  [0, { input: { executor: 'http', method: 'POST', url: 'http://127.0.0.1:9/hook', body: { a: [1, 2] } } }],
  [0, { input: { executor: 'module', handler: 'summarize', input: { text: 'x', n: 3 } } }],
  [1, { template: 'pair', params: { word: 'two' } }],
  [1, { template, params: { word: 'inline' }, id: 'wf-1' }],
  ...[
    { type: 'lww', op: 'set', value: { a: [1, 2], b: 'x' } },
    { type: 'mvregister', op: 'set', value: 'v' },
    { type: 'orset', op: 'add', values: ['x', 1, { y: null }] },
    { type: 'orset', op: 'remove', values: ['x'] },
    { type: 'pncounter', op: 'decrement', by: 3 },
    { type: 'boundedcounter', op: 'increment', by: 2 },
    {
      type: 'boundedcounter',
      op: 'transfer',
      to: '12D3KooWGzBY8dCjT1kxVxqYqmr6MtJ1kTnL9n8Sk6rZ9XbJvX4Y',
      by: 1,
    },
    { type: 'graph', op: 'addVertex', id: 'v', attrs: { k: 1 } },
    { type: 'graph', op: 'addEdge', from: 'v', to: 'v', label: 'self', attrs: { w: 2 } },
    { type: 'timeseries', op: 'append', points: [{ series: 's', value: 1.5, at: 5 }] },
    { type: 'timeseries', op: 'retain', before: 3 },
    { type: 'text', op: 'insert', index: 0, text: 'hi' },
    { type: 'text', op: 'delete', index: 0, length: 1 },
  ].map((body): [number, unknown] => [memoryRoute(body.type as MemberType), body]),
];

/** Values that trip validators and the code behind them. */
const hostile: readonly unknown[] = [
  null,
  true,
  0,
  -1,
  1e308,
  -1e308,
  2 ** 53 + 2,
  0.5,
  '',
  'x'.repeat(100_000),
  '\u0000\ud800',
  '__proto__',
  [],
  {},
  JSON.parse('{"__proto__":{"polluted":true}}'),
  JSON.parse('{"constructor":{"prototype":{"polluted":true}}}'),
  Array.from({ length: 10_000 }, (_, i) => i),
];

/** A JSON value `depth` arrays deep. */
const deep = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);

/** Replaces, deletes or adds one field somewhere in `value`. */
function mutateJson(rng: Rng, value: unknown): unknown {
  if (value === null || typeof value !== 'object') return rng.pick(hostile);
  const copy: Record<string, unknown> | unknown[] = Array.isArray(value)
    ? [...(value as unknown[])]
    : { ...value };
  const keys = Object.keys(copy);
  const roll = rng.int(0, 9);
  if (keys.length === 0 || roll === 0) {
    const key = rng.pick(['extra', '__proto__', 'constructor', 'id', 'input', '0']);
    Object.defineProperty(copy, key, { value: rng.pick(hostile), enumerable: true, writable: true });
    return copy;
  }
  const key = rng.pick(keys);
  const slot = copy as Record<string, unknown>;
  if (roll === 1) delete slot[key];
  else if (roll < 6) slot[key] = mutateJson(rng, slot[key]);
  else slot[key] = rng.pick(hostile);
  return copy;
}

/** One request: its route and body bytes. The first input byte picks the route. */
function generate(rng: Rng, encoded: readonly Uint8Array[]): Uint8Array {
  const [route, body] = rng.pick(bodies);
  let text: string;
  const roll = rng.int(0, 9);
  if (roll < 5) text = JSON.stringify(mutateJson(rng, rng.chance(0.5) ? mutateJson(rng, body) : body));
  else if (roll === 5) {
    // Nesting deeper than any recursive walk of the body can go.
    const nested = deep(rng.int(100, 100_000));
    text =
      route === 0
        ? `{"input":${nested}}`
        : route === 1
          ? `{"template":"pair","params":{"word":${nested}}}`
          : `{"type":"orset","op":"add","values":[${nested}]}`;
  } else text = JSON.stringify(body);
  const bytes = Uint8Array.from([route, ...Buffer.from(text)]);
  return roll >= 7 ? mutate(rng, bytes, encoded).bytes : bytes;
}

interface Daemon {
  url: string;
  stop(): Promise<void>;
}

export interface HttpReport {
  inputs: number;
  accepted: number;
  rejected: number;
  maxMs: number;
  maxHeapBytes: number;
}

/**
 * POSTs damaged bodies to the task, workflow and shared-memory routes of a daemon started in this
 * process. Every answer must be 2xx, or 4xx with a JSON error; a rejected request must leave the
 * task and workflow counts and every shared-memory member alone; `/healthz` must answer after every
 * request.
 */
export async function runHttpTarget(o: {
  seed: number;
  frames: number;
  budgetMs: number;
  bounds: Bounds;
  onFailure: (f: FuzzFailure) => void;
  /** Replays these inputs instead of a seeded sequence. */
  inputs?: readonly Uint8Array[];
}): Promise<HttpReport> {
  const dir = mkdtempSync(join(tmpdir(), 'meshwork-fuzz-'));
  const config = parseConfig(
    {
      name: 'fuzz-node',
      dataDir: join(dir, 'data'),
      apiKey: API_KEY,
      http: { port: 0, maxBodyBytes: 1024 * 1024 },
      logLevel: 'silent',
      workflows: { pair: template },
    },
    dir,
  );
  const daemon: Daemon = await startDaemon(config);
  const report: HttpReport = { inputs: 0, accepted: 0, rejected: 0, maxMs: 0, maxHeapBytes: 0 };
  const call = async (method: string, path: string, body?: Uint8Array) => {
    const res = await fetch(daemon.url + path, {
      method,
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      ...(body !== undefined ? { body } : {}),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, json, text };
  };
  // Workflows started earlier create their tasks as they advance, so their tasks are left out.
  // A write to a shared-memory member is checked against the documents and that member as read.
  const counts = async (route: string): Promise<string> => {
    const tasks = ((await call('GET', '/v1/tasks?limit=10000')).json as { items: { workflow: unknown }[] })
      .items;
    const workflows = ((await call('GET', '/v1/workflows?limit=10000')).json as { items: unknown[] }).items;
    const counted = `${tasks.filter((t) => t.workflow === null).length} tasks, ${workflows.length} workflows`;
    if (!route.startsWith(MEMORY)) return counted;
    return `${counted}, ${(await call('GET', '/v1/memory')).text}, ${(await call('GET', route)).text}`;
  };

  const check = async (input: Uint8Array): Promise<{ check: string; message: string } | undefined> => {
    const route = ROUTES[(input[0] ?? 0) % ROUTES.length]!;
    const before = await counts(route);
    const heap0 = getHeapStatistics().used_heap_size;
    const t0 = performance.now();
    let res;
    try {
      res = await call('POST', route, new Uint8Array(input.subarray(1)));
    } catch (err) {
      return { check: 'hang', message: `POST ${route} got no answer: ${String(err)}` };
    }
    const ms = performance.now() - t0;
    const heap = getHeapStatistics().used_heap_size - heap0;
    report.inputs++;
    report.maxMs = Math.max(report.maxMs, ms);
    report.maxHeapBytes = Math.max(report.maxHeapBytes, heap);
    const health = await call('GET', '/healthz').catch((err: unknown) => ({ status: 0, text: String(err) }));
    if (health.status !== 200)
      return { check: 'healthz', message: `/healthz answered ${health.status} after POST ${route}` };
    if (res.status >= 500 || res.status < 200 || (res.status >= 300 && res.status < 400))
      return { check: 'status', message: `POST ${route} answered ${res.status}: ${res.text.slice(0, 300)}` };
    if (res.status >= 400) {
      report.rejected++;
      const error = (res.json as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
      if (typeof error?.code !== 'string' || typeof error.message !== 'string')
        return {
          check: 'error-body',
          message: `POST ${route} answered ${res.status} without a JSON error: ${res.text.slice(0, 300)}`,
        };
      const after = await counts(route);
      if (after !== before)
        return {
          check: 'state-changed',
          message: `POST ${route} answered ${res.status} but ${before} became ${after}`,
        };
    } else {
      report.accepted++;
      if (res.json === undefined)
        return { check: 'status', message: `POST ${route} answered ${res.status} without JSON` };
    }
    if (ms > o.bounds.timeMs) return { check: 'time', message: `${ms.toFixed(0)} ms for POST ${route}` };
    if (heap > o.bounds.heapBytes)
      return {
        check: 'memory',
        message: `heap grew by ${(heap / 2 ** 20).toFixed(1)} MiB for POST ${route}`,
      };
    return undefined;
  };

  try {
    const rng = createRng(o.seed).fork('http-api');
    const encoded = bodies.map(([route, body]) =>
      Uint8Array.from([route, ...Buffer.from(JSON.stringify(body))]),
    );
    const deadline = performance.now() + o.budgetMs;
    const inputs = o.inputs ?? [];
    const total = o.inputs?.length ?? o.frames;
    const seen = new Set<string>();
    for (let i = 0; i < total && seen.size < MAX_FAILURES && performance.now() < deadline; i++) {
      const input = inputs[i] ?? generate(rng, encoded);
      const f = await check(input);
      if (f !== undefined && !seen.has(failureKind(f))) {
        seen.add(failureKind(f));
        o.onFailure({ target: 'http-api', seed: o.seed, index: i, ...f, hex: toHex(input) });
      }
    }
  } finally {
    await daemon.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return report;
}
