import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { isIPv4, type AddressInfo } from 'node:net';
import { getRequestListener, RequestError, type HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { z } from 'zod';
import { apiRoutes, type NodeApi } from './http/api-routes.ts';
import { createEventStream } from './http/event-stream.ts';
import { openApiDocument } from './http/openapi.ts';
import { accessOf, ApiError, pathParams, type RouteDefinition } from './http/route.ts';
import { validationError } from './http/validation.ts';
import { VERSION } from './version.ts';
import { nameRequestSpan, type AroundRequest } from './telemetry/http-spans.ts';
import { createWriteTurns } from './write-turns.ts';

export type { MemoryApi, NodeApi } from './http/api-routes.ts';
export type { LiveEvent, LiveEvents } from './http/event-stream.ts';
export {
  ApiError,
  type Access,
  type Handler,
  type Json,
  type RequestContext,
  type RouteDefinition,
  type RouteDoc,
} from './http/route.ts';

export interface ApiServerOptions {
  host: string;
  port: number;
  apiKey: string;
  maxBodyBytes: number;
  /** Called for every request, for metrics and logs; `route` is the route's pattern. */
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
  /** Events kept for event-stream clients that resume with `Last-Event-ID`. Default 1024. */
  eventReplayEvents?: number;
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

/** How long a closing server waits for requests in flight before it cuts their connections. */
const CLOSE_GRACE_MS = 2_000;
/** How long events are still kept for resuming once the last event-stream client left. */
const EVENT_LINGER_MS = 60_000;

/** Codes of the errors the framework itself raises, by status. */
const FRAMEWORK_CODES: { readonly [status: number]: string } = {
  400: 'invalid_request',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'body_too_large',
  415: 'unsupported_media_type',
};

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

/** Whether a body of this media type is JSON; a body sent without one is taken as JSON. */
function isJsonType(contentType: string | undefined): boolean {
  if (contentType === undefined) return true;
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || /^application\/[\w.+-]+\+json$/.test(type);
}

/** Any error as the API's envelope `{ error: { code, message, field? } }`. */
function asApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof HTTPException)
    return new ApiError(
      err.status,
      FRAMEWORK_CODES[err.status] ?? 'http_error',
      err.message || `HTTP ${err.status}`,
    );
  if (err instanceof RequestError) return new ApiError(400, 'invalid_request', err.message);
  return new ApiError(500, 'internal', err instanceof Error ? err.message : String(err));
}

function errorResponse(err: ApiError): Response {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (err.retryAfterS !== undefined) headers['retry-after'] = String(err.retryAfterS);
  const body = {
    error: { code: err.code, message: err.message, ...(err.field ? { field: err.field } : {}) },
  };
  return new Response(JSON.stringify(body), { status: err.status, headers });
}

type Env = { Bindings: HttpBindings; Variables: { route: string; keyed: boolean } };

/**
 * The daemon's HTTP API, on Hono over `node:http`. Reads are open on loopback; every mutating
 * route needs `Authorization: Bearer <apiKey>` and is refused with 401 before its body is read.
 * Every error, the framework's included, answers the JSON envelope. `GET /openapi.json` describes
 * every route, built-in and added.
 */
export async function startApiServer(api: NodeApi, options: ApiServerOptions): Promise<ApiServer> {
  const expectedKey = digest(options.apiKey);
  const events = createEventStream({
    live: api.live,
    maxStreams: options.maxEventStreams ?? 100,
    maxUnsentBytes: options.eventStreamBufferBytes ?? 256 * 1024,
    heartbeatMs: options.heartbeatMs ?? 15_000,
    replayEvents: options.eventReplayEvents ?? 1024,
    lingerMs: EVENT_LINGER_MS,
    ...(options.onStreamDropped !== undefined ? { onStreamDropped: options.onStreamDropped } : {}),
    ...(options.onEventStreams !== undefined ? { onEventStreams: options.onEventStreams } : {}),
  });
  let openApi = '';
  const routes: RouteDefinition[] = [
    ...apiRoutes(api),
    events.route,
    ...(options.routes ?? []),
    {
      method: 'GET',
      path: '/openapi.json',
      access: 'open',
      doc: { summary: 'This document: every route of this node, from the schemas it validates with' },
      handler: ({ res }) => {
        res.writeHead(200, { 'content-type': 'application/json' }).end(openApi);
        return 'stream';
      },
    },
  ];
  openApi = JSON.stringify(openApiDocument(routes, { title: 'Meshwork node API', version: VERSION }));

  const keyed = (header: string | undefined): boolean => {
    const match = /^Bearer (.+)$/.exec(header ?? '');
    return match !== null && timingSafeEqual(digest(match[1]!), expectedKey);
  };
  const writeTurn = createWriteTurns();
  const tooLarge = (): never => {
    throw new ApiError(413, 'body_too_large', `request body exceeds ${options.maxBodyBytes} bytes`);
  };
  const streamedLimit = bodyLimit({ maxSize: options.maxBodyBytes, onError: tooLarge });
  // A body whose length is declared is checked against it (node:http holds the client to it) and
  // then read straight from the socket; only a chunked one is counted as it streams in.
  const limitBody: MiddlewareHandler<Env> = async (c, next) => {
    const { headers } = c.env.incoming;
    if (headers['content-length'] === undefined || headers['transfer-encoding'] !== undefined)
      return streamedLimit(c, next);
    if (Number(headers['content-length']) > options.maxBodyBytes) tooLarge();
    await next();
  };

  const app = new Hono<Env>();
  app.use(async (c, next) => {
    const started = performance.now();
    const { incoming, outgoing } = c.env;
    outgoing.once('finish', () =>
      options.onRequest?.(
        incoming.method ?? '',
        c.get('route') ?? 'unknown',
        outgoing.statusCode,
        performance.now() - started,
      ),
    );
    // Hono answers HEAD as GET, but a streaming route has written its answer itself by then.
    if (c.req.method === 'HEAD') throw new ApiError(405, 'method_not_allowed', 'HEAD is not served: use GET');
    await next();
  });

  const serve = (route: RouteDefinition) => {
    const access = accessOf(route);
    const needsKey = access === 'write' || (access === 'read' && options.readsNeedKey === true);
    const names = pathParams(route.path);
    const authorize: MiddlewareHandler<Env> = async (c, next) => {
      c.set('route', route.path);
      nameRequestSpan(route.method, route.path);
      c.set('keyed', keyed(c.req.header('authorization')));
      if (needsKey && !c.get('keyed')) {
        c.env.outgoing.setHeader('www-authenticate', 'Bearer');
        throw new ApiError(401, 'unauthorized', 'missing or wrong API key (Authorization: Bearer <key>)');
      }
      await next();
    };
    const handle = async (c: Context<Env>): Promise<Response> => {
      const url = new URL(c.req.url);
      if (names.length > 0) {
        try {
          decodeURIComponent(url.pathname);
        } catch {
          throw new ApiError(400, 'invalid_path', `malformed percent-escape in ${url.pathname}`);
        }
      }
      const body = async <S extends z.ZodType>(schema: S): Promise<z.output<S>> => {
        const text = await c.req.text();
        if (text !== '' && !isJsonType(c.req.header('content-type')))
          throw new ApiError(
            415,
            'unsupported_media_type',
            'request body must be JSON (Content-Type: application/json)',
          );
        // Parsing, checking and writing a body is the costly part of a write: one per turn.
        if (access === 'write') await writeTurn();
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
      const result = await route.handler({
        req: c.env.incoming,
        res: c.env.outgoing,
        params: names.map((name) => c.req.param(name) ?? ''),
        query: url.searchParams,
        body,
        authorized: c.get('keyed'),
      });
      if (result === 'stream') return RESPONSE_ALREADY_SENT;
      return c.json(result[1], result[0] as ContentfulStatusCode);
    };
    return { authorize, handle };
  };
  for (const route of routes) {
    const { authorize, handle } = serve(route);
    if (route.method === 'GET') app.on(route.method, route.path, authorize, handle);
    else app.on(route.method, route.path, authorize, limitBody, handle);
  }
  // A path that exists under other methods: 405 naming them.
  const methods = new Map<string, string[]>();
  for (const route of routes) methods.set(route.path, [...(methods.get(route.path) ?? []), route.method]);
  for (const [path, allowed] of methods) {
    app.all(path, (c) => {
      c.env.outgoing.setHeader('allow', allowed.join(', '));
      throw new ApiError(405, 'method_not_allowed', `${c.req.method} not allowed on ${c.req.path}`);
    });
  }
  app.notFound((c) => errorResponse(new ApiError(404, 'not_found', `no route ${c.req.path}`)));
  app.onError((err, c) => {
    // A stream already under way cannot take an error answer: it is cut instead.
    if (c.env.outgoing.headersSent) {
      c.env.outgoing.destroy();
      return RESPONSE_ALREADY_SENT;
    }
    const error = asApiError(err);
    if (error.status === 429) options.onThrottled?.(error.code);
    return errorResponse(error);
  });

  const listener = getRequestListener(app.fetch, {
    // HTTP/1.0 clients may send no Host.
    hostname: 'localhost',
    errorHandler: (err) => errorResponse(asApiError(err)),
  });
  const around = options.aroundRequest;
  const server = createServer(
    (req, res) =>
      void (around === undefined ? listener(req, res) : around(req, res, () => listener(req, res))),
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
      events.close();
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
