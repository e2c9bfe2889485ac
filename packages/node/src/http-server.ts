import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIPv4, type AddressInfo } from 'node:net';
import { MeshworkError } from '@meshwork/core';
import type { z } from 'zod';
import {
  listTasksQuery,
  startWorkflowBody,
  submitTaskBody,
  type ListTasksQuery,
  type StartWorkflowBody,
  type SubmitTaskBody,
} from './api-schema.ts';
import {
  createDocumentBody,
  memberReadQuery,
  memoryOperation,
  memoryPageQuery,
  registerBody,
  type MemberReadQuery,
  type MemoryOperation,
  type MemoryPageQuery,
} from './memory/memory-schema.ts';
import { nameRequestSpan, type AroundRequest } from './telemetry/http-spans.ts';
import { createWriteTurns } from './write-turns.ts';

/** JSON the API returns. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** One live change for the SSE stream: `event: <type>`, `data: <json>`. */
export interface LiveEvent {
  type: string;
  data: Json;
}

/**
 * An error with its HTTP status; `field` names the offending request field, `retryAfterS` (sent
 * as `Retry-After`) tells a refused client when to try again.
 */
export class ApiError extends MeshworkError {
  override readonly name = 'ApiError';
  readonly status: number;
  readonly retryAfterS: number | undefined;
  constructor(
    status: number,
    code: string,
    message: string,
    field?: string,
    options: { retryAfterS?: number } = {},
  ) {
    super(code, message, { ...(field !== undefined && { field }) });
    this.status = status;
    this.retryAfterS = options.retryAfterS;
  }
}

/** Shared memory under `/v1/memory`; the daemon implements it with memory/memory-api.ts. */
export interface MemoryApi {
  listDocuments(query: MemoryPageQuery): Json;
  createDocument(document: string): { created: boolean; document: Json };
  getDocument(document: string, query: MemoryPageQuery): Json;
  getMember(document: string, member: string, query: MemberReadQuery): Json;
  writeMember(document: string, member: string, operation: MemoryOperation): Json;
}

/** What the HTTP API serves; the daemon implements it over the mesh and coordinator. */
export interface NodeApi {
  status(): Json;
  /** True once state is restored, the node has caught up with its peers and is not draining. */
  ready(): boolean;
  peers(): Json;
  agents(): Json;
  listTasks(query: ListTasksQuery): Json;
  /** `undefined` when no such task. */
  getTask(id: string): Json | undefined;
  taskHistory(id: string): Json;
  submitTask(body: SubmitTaskBody): Json | Promise<Json>;
  /** `undefined` when no such task. */
  cancelTask(id: string): Json | undefined;
  listWorkflows(): Json;
  workflowTemplates(): Json;
  getWorkflow(id: string): Json | undefined;
  startWorkflow(body: StartWorkflowBody): Json | Promise<Json>;
  subscribe(listener: (event: LiveEvent) => void): () => void;
  metrics(): Promise<{ contentType: string; body: string }>;
  memory: MemoryApi;
}

export interface ApiServerOptions {
  host: string;
  port: number;
  apiKey: string;
  maxBodyBytes: number;
  /** Called for every request, for metrics and logs. */
  onRequest?: (method: string, route: string, status: number, ms: number) => void;
  /** SSE comment interval keeping idle streams open through proxies. */
  heartbeatMs?: number;
  /**
   * Whether reads under `/v1/` need the key too (task inputs can hold secrets); set when the
   * API listens beyond loopback. Probes and metrics stay open.
   */
  readsNeedKey?: boolean;
  /** Most concurrent `GET /v1/events` clients; more get 429. Default 100. */
  maxEventStreams?: number;
  /** An event-stream client with this many bytes still unsent is dropped. Default 256 KiB. */
  eventStreamBufferBytes?: number;
  /** Called for every 429, with its error code. */
  onThrottled?: (code: string) => void;
  /** Called when an event-stream client is dropped for reading too slowly. */
  onStreamDropped?: () => void;
  /** Called with the number of event-stream clients whenever it changes. */
  onEventStreams?: (open: number) => void;
  /** Routes served besides the built-in ones (e.g. the pull-worker protocol). */
  routes?: readonly RouteDefinition[];
  /** Wraps the handling of every request (the daemon's request spans). */
  aroundRequest?: AroundRequest;
}

export interface ApiServer {
  readonly url: string;
  readonly server: Server;
  /** Ends SSE streams and stops accepting requests. */
  close(): Promise<void>;
}

/** Answers a request with a status and JSON body, or `'stream'` when it wrote the response itself. */
export type Handler = (ctx: RequestContext) => Promise<[number, Json] | 'stream'> | [number, Json] | 'stream';

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  params: string[];
  query: URLSearchParams;
  body: <S extends z.ZodType>(schema: S) => Promise<z.output<S>>;
  /** Whether the request carries the API key (a route with `read` access may serve more with it). */
  authorized: boolean;
}

/** `open`: anyone who can reach the port; `read`: open on loopback, else keyed; `write`: keyed. */
export type Access = 'open' | 'read' | 'write';

/** A route: `path` like `/v1/things/:id/part`, each `:name` one decoded path segment in `params`. */
export interface RouteDefinition {
  readonly method: string;
  readonly path: string;
  /** Default: `read` for GET, `write` otherwise. */
  readonly access?: Access;
  readonly handler: Handler;
}

interface Route {
  method: string;
  pattern: RegExp;
  name: string;
  access: Access;
  handler: Handler;
}

/** How long a closing server waits for requests in flight before it cuts their connections. */
const CLOSE_GRACE_MS = 2_000;

/** True for an address only this machine can reach: reads there need no key. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (isIPv4(h)) return h.startsWith('127.');
  if (h.startsWith('::ffff:')) return isIPv4(h.slice(7)) && h.slice(7).startsWith('127.');
  return false;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** The value, or a 404 with `message` when there is none. */
function orNotFound<T>(value: T | undefined, message: string): T {
  if (value === undefined) throw new ApiError(404, 'not_found', message);
  return value;
}

function validationError(error: z.ZodError, prefix: string): ApiError {
  const issue = error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const field = [...issue.path, issue.keys[0]].join('.');
    return new ApiError(400, 'invalid_request', `${prefix}${field}: unknown field`, field);
  }
  const field = issue.path.join('.');
  return new ApiError(
    400,
    'invalid_request',
    `${prefix}${field || '(body)'}: ${issue.message}`,
    field || undefined,
  );
}

function parseQuery<S extends z.ZodType>(schema: S, query: URLSearchParams): z.output<S> {
  const parsed = schema.safeParse(Object.fromEntries(query));
  if (!parsed.success) throw validationError(parsed.error, 'query ');
  return parsed.data;
}

/**
 * Reads a body of at most `max` bytes. A larger one is drained and discarded before the 413, so
 * the client reads the answer instead of a reset; one declared far larger is refused at once.
 */
async function readBody(req: IncomingMessage, max: number): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? 0);
  const tooLarge = new ApiError(413, 'body_too_large', `request body exceeds ${max} bytes`);
  if (declared > max * 16) throw tooLarge;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max * 16) throw tooLarge;
    if (size <= max) chunks.push(chunk);
  }
  if (size > max) throw tooLarge;
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The daemon's HTTP API on `node:http`. Reads are open; every mutating route needs
 * `Authorization: Bearer <apiKey>` and is refused with 401 before its body is read.
 */
export async function startApiServer(api: NodeApi, options: ApiServerOptions): Promise<ApiServer> {
  const expectedKey = digest(options.apiKey);
  const streams = new Set<ServerResponse>();
  const maxStreams = options.maxEventStreams ?? 100;
  const maxUnsent = options.eventStreamBufferBytes ?? 256 * 1024;
  const routes: Route[] = [];
  const route = (
    method: string,
    path: string,
    handler: Handler,
    access: Access = method === 'GET' ? 'read' : 'write',
  ): void => {
    const pattern = new RegExp(`^${path.replace(/:[a-z]+/g, '([^/]+)')}$`);
    routes.push({ method, pattern, name: path, access, handler });
  };

  route('GET', '/healthz', () => [200, { ok: true }], 'open');
  route('GET', '/readyz', () => (api.ready() ? [200, { ready: true }] : [503, { ready: false }]), 'open');
  route(
    'GET',
    '/metrics',
    ({ res }) => {
      void api.metrics().then(
        ({ contentType, body }) => res.writeHead(200, { 'content-type': contentType }).end(body),
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
      return 'stream';
    },
    'open',
  );
  route('GET', '/v1/status', () => [200, api.status()]);
  route('GET', '/v1/peers', () => [200, api.peers()]);
  route('GET', '/v1/agents', () => [200, api.agents()]);
  route('GET', '/v1/tasks', ({ query }) => [200, api.listTasks(parseQuery(listTasksQuery, query))]);
  route('POST', '/v1/tasks', async ({ body }) => [201, await api.submitTask(await body(submitTaskBody))]);
  route('GET', '/v1/tasks/:id', ({ params }) => [
    200,
    orNotFound(api.getTask(params[0]!), `no task ${params[0]}`),
  ]);
  route('GET', '/v1/tasks/:id/history', ({ params }) => [200, api.taskHistory(params[0]!)]);
  route('POST', '/v1/tasks/:id/cancel', ({ params }) => [
    200,
    orNotFound(api.cancelTask(params[0]!), `no task ${params[0]}`),
  ]);
  route('GET', '/v1/workflows', () => [200, api.listWorkflows()]);
  route('GET', '/v1/workflows/templates', () => [200, api.workflowTemplates()]);
  route('POST', '/v1/workflows', async ({ body }) => [
    201,
    await api.startWorkflow(await body(startWorkflowBody)),
  ]);
  route('GET', '/v1/workflows/:id', ({ params }) => [
    200,
    orNotFound(api.getWorkflow(params[0]!), `no workflow ${params[0]}`),
  ]);
  route('GET', '/v1/memory', ({ query }) => [
    200,
    api.memory.listDocuments(parseQuery(memoryPageQuery, query)),
  ]);
  route('GET', '/v1/memory/:doc', ({ params, query }) => [
    200,
    api.memory.getDocument(params[0]!, parseQuery(memoryPageQuery, query)),
  ]);
  route('PUT', '/v1/memory/:doc', async ({ params, body }) => {
    await body(createDocumentBody);
    const { created, document } = api.memory.createDocument(params[0]!);
    return [created ? 201 : 200, document];
  });
  route('GET', '/v1/memory/:doc/:member', ({ params, query }) => [
    200,
    api.memory.getMember(params[0]!, params[1]!, parseQuery(memberReadQuery, query)),
  ]);
  route('PUT', '/v1/memory/:doc/:member', async ({ params, body }) => [
    200,
    api.memory.writeMember(params[0]!, params[1]!, { ...(await body(registerBody)), op: 'set' }),
  ]);
  route('POST', '/v1/memory/:doc/:member', async ({ params, body }) => [
    200,
    api.memory.writeMember(params[0]!, params[1]!, await body(memoryOperation)),
  ]);
  // One serialisation per event, however many clients stream it.
  const frames = new WeakMap<LiveEvent, string>();
  const frameOf = (event: LiveEvent): string => {
    let frame = frames.get(event);
    if (frame === undefined) {
      frame = `event: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`;
      frames.set(event, frame);
    }
    return frame;
  };
  route('GET', '/v1/events', ({ res }) => {
    if (streams.size >= maxStreams) {
      throw new ApiError(
        429,
        'too_many_streams',
        `${maxStreams} event streams are open (limit limits.maxEventStreams)`,
        undefined,
        { retryAfterS: 5 },
      );
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    res.write('retry: 2000\n\n');
    streams.add(res);
    options.onEventStreams?.(streams.size);
    // A client that does not read would make the server buffer every event for it: past the
    // bound it is dropped (it may reconnect) instead of growing the heap.
    const send = (frame: string): void => {
      if (res.destroyed) return;
      if (res.writableLength > maxUnsent) {
        options.onStreamDropped?.();
        res.destroy();
        return;
      }
      res.write(frame);
    };
    const unsubscribe = api.subscribe((event) => send(frameOf(event)));
    const heartbeat = setInterval(() => send(': keep-alive\n\n'), options.heartbeatMs ?? 15_000);
    res.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
      streams.delete(res);
      options.onEventStreams?.(streams.size);
    });
    return 'stream';
  });
  for (const r of options.routes ?? []) route(r.method, r.path, r.handler, r.access);

  const authorized = (req: IncomingMessage): boolean => {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer (.+)$/.exec(header);
    return match !== null && timingSafeEqual(digest(match[1]!), expectedKey);
  };

  const writeTurn = createWriteTurns();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = performance.now();
    let routeName = 'unknown';
    const send = (status: number, body: Json): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    try {
      let url: URL;
      try {
        url = new URL(req.url ?? '/', 'http://localhost');
      } catch {
        throw new ApiError(400, 'invalid_path', 'malformed request target');
      }
      const matching = routes.filter((r) => r.pattern.test(url.pathname));
      if (matching.length === 0) throw new ApiError(404, 'not_found', `no route ${url.pathname}`);
      const found = matching.find((r) => r.method === req.method);
      if (!found) {
        res.setHeader('allow', matching.map((r) => r.method).join(', '));
        throw new ApiError(405, 'method_not_allowed', `${req.method} not allowed on ${url.pathname}`);
      }
      routeName = found.name;
      nameRequestSpan(found.method, routeName);
      const needsKey = found.access === 'write' || (found.access === 'read' && options.readsNeedKey === true);
      const keyed = authorized(req);
      if (needsKey && !keyed) {
        res.setHeader('www-authenticate', 'Bearer');
        throw new ApiError(401, 'unauthorized', 'missing or wrong API key (Authorization: Bearer <key>)');
      }
      const params = found.pattern
        .exec(url.pathname)!
        .slice(1)
        .map((p) => {
          try {
            return decodeURIComponent(p);
          } catch {
            throw new ApiError(400, 'invalid_path', `malformed percent-escape in ${url.pathname}`);
          }
        });
      const body = async <S extends z.ZodType>(schema: S): Promise<z.output<S>> => {
        const text = await readBody(req, options.maxBodyBytes);
        // Parsing, checking and writing a body is the costly part of a write: one per turn.
        if (found.access === 'write') await writeTurn();
        let json: unknown;
        try {
          json = text === '' ? {} : JSON.parse(text);
        } catch {
          throw new ApiError(400, 'invalid_json', 'request body is not valid JSON');
        }
        const parsed = schema.safeParse(json);
        if (!parsed.success) throw validationError(parsed.error, '');
        return parsed.data;
      };
      const result = await found.handler({
        req,
        res,
        params,
        query: url.searchParams,
        body,
        authorized: keyed,
      });
      if (result !== 'stream') send(result[0], result[1]);
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
      } else if (err instanceof ApiError) {
        if (err.retryAfterS !== undefined) res.setHeader('retry-after', String(err.retryAfterS));
        if (err.status === 429) options.onThrottled?.(err.code);
        send(err.status, {
          error: { code: err.code, message: err.message, ...(err.field ? { field: err.field } : {}) },
        });
      } else {
        send(500, { error: { code: 'internal', message: (err as Error).message } });
      }
      // An unread body would otherwise be left on a keep-alive socket.
      if (!req.complete) res.once('finish', () => req.destroy());
    } finally {
      res.once('finish', () =>
        options.onRequest?.(req.method ?? '', routeName, res.statusCode, performance.now() - started),
      );
    }
  };

  const around = options.aroundRequest;
  const server = createServer(
    (req, res) => void (around === undefined ? handle(req, res) : around(req, res, () => handle(req, res))),
  );
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    server,
    async close() {
      // Destroyed, not ended: a client that stopped reading would keep an ended stream open.
      for (const res of streams) res.destroy();
      streams.clear();
      await new Promise<void>((resolve) => {
        const cut = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
        server.close(() => {
          clearTimeout(cut);
          resolve();
        });
        server.closeIdleConnections();
      });
    },
  };
}
