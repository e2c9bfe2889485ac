import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { RequestId } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { McpSettings } from '../config.ts';
import { ApiError, type RequestContext, type RouteDefinition, type RouteDoc } from '../http-server.ts';
import type { Logger } from '../logger.ts';
import type { McpMetrics } from './metrics.ts';
import type { McpSession } from './server.ts';

export interface McpEndpointDeps {
  /** A new session's server, with the rights its `initialize` request was given. */
  readonly open: (options: { readonly authorized: boolean }) => Promise<McpSession>;
  readonly settings: McpSettings;
  readonly logger: Logger;
  readonly metrics: McpMetrics;
}

export interface McpEndpoint {
  /** `POST`, `GET` and `DELETE /mcp`, for the API server. */
  readonly routes: RouteDefinition[];
  /** Ends every session (their agents unregister) and refuses new ones. */
  close(): Promise<void>;
}

interface OpenSession {
  readonly id: string;
  readonly authorized: boolean;
  readonly mcp: McpSession;
  readonly transport: StreamableHTTPServerTransport;
  lastSeen: number;
  /** Requests and streams of the session still open: it is not idle while one is. */
  open: number;
}

const SESSION_HEADER = 'mcp-session-id';

/** The MCP Streamable HTTP transport's methods, for `/openapi.json`; the session is the `Mcp-Session-Id` header. */
const MCP_DOCS: { readonly [M in 'POST' | 'GET' | 'DELETE']: RouteDoc } = {
  POST: {
    summary: 'MCP: a JSON-RPC message or batch (initialize opens a session)',
    body: z.unknown(),
    mediaType: 'text/event-stream',
    errors: [403, 429, 503],
  },
  GET: {
    summary: "MCP: the session's server-to-client stream",
    mediaType: 'text/event-stream',
    errors: [403],
  },
  DELETE: { summary: 'MCP: end the session', errors: [403] },
};
/** Sent as `Retry-After` when the node has no room for another session, or is stopping. */
const RETRY_AFTER_S = 5;

/** A JSON-RPC error answer, as the MCP transport gives for a request it cannot route. */
function rpcError(res: ServerResponse, status: number, code: number, message: string): 'stream' {
  res
    .writeHead(status, { 'content-type': 'application/json' })
    .end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
  return 'stream';
}

/**
 * Refuses a request a web page of another origin makes (a DNS-rebinding attack on a node that
 * serves reads without the key on loopback): its `Origin` must be this server's.
 */
function checkOrigin(req: IncomingMessage): void {
  const origin = req.headers.origin;
  if (origin === undefined) return;
  let host: string | undefined;
  try {
    host = new URL(origin).host;
  } catch {
    host = undefined;
  }
  if (host === undefined || host !== req.headers.host)
    throw new ApiError(403, 'forbidden_origin', `Origin ${origin} may not call this node's MCP endpoint`);
}

/** The SDK's Streamable HTTP transport and message guards. */
interface McpSdk {
  readonly StreamableHTTPServerTransport: typeof StreamableHTTPServerTransport;
  readonly isInitializeRequest: (message: unknown) => boolean;
  /** The ids of the requests in a POSTed JSON-RPC message or batch. */
  readonly requestIds: (message: unknown) => RequestId[];
}

let sdk: Promise<McpSdk> | undefined;

/**
 * The SDK, loaded with the first request to `/mcp`: it is some tens of megabytes resident, which
 * a node no MCP client talks to does not need to hold.
 */
function loadSdk(): Promise<McpSdk> {
  sdk ??= Promise.all([
    import('@modelcontextprotocol/sdk/server/streamableHttp.js'),
    import('@modelcontextprotocol/sdk/types.js'),
  ]).then(([http, types]) => ({
    StreamableHTTPServerTransport: http.StreamableHTTPServerTransport,
    isInitializeRequest: types.isInitializeRequest,
    requestIds: (message) => {
      const messages: unknown[] = Array.isArray(message) ? message : [message];
      return messages.filter(types.isJSONRPCRequest).map((m) => m.id);
    },
  }));
  return sdk;
}

/**
 * The MCP server over Streamable HTTP at `/mcp`, as the SDK's transport serves it, one stateful
 * session per client (the `Mcp-Session-Id` header). A session's rights are fixed by its
 * `initialize`: with the API key it may use every tool and its later requests must carry the key
 * too; without (on loopback, where reads are open) it may only read. Sessions end on `DELETE`,
 * when the node stops, or after `mcp.sessionIdleMs` with no request and no open stream.
 */
export function createMcpEndpoint(deps: McpEndpointDeps): McpEndpoint {
  const { settings, logger, metrics } = deps;
  const sessions = new Map<string, OpenSession>();
  let closed = false;

  const forget = (session: OpenSession): void => {
    if (sessions.get(session.id) !== session) return;
    sessions.delete(session.id);
    metrics.sessions(sessions.size);
    // A stopping node drops every registration with its workers: only a session ending alone releases its agent.
    if (!closed) session.mcp.end();
    logger.debug({ session: session.id }, 'MCP session ended');
  };

  const start = async (mcpSdk: McpSdk, authorized: boolean): Promise<OpenSession> => {
    const id = randomUUID();
    const transport = new mcpSdk.StreamableHTTPServerTransport({ sessionIdGenerator: () => id });
    const mcp = await deps.open({ authorized });
    const session: OpenSession = { id, authorized, mcp, transport, lastSeen: Date.now(), open: 0 };
    mcp.server.server.onclose = () => forget(session);
    await mcp.server.connect(transport);
    // Counted from now, so concurrent initializes cannot pass the limit together.
    sessions.set(id, session);
    metrics.sessions(sessions.size);
    return session;
  };

  /** Hands the request to the session's transport; a client that hangs up cancels its requests. */
  const serve = async (
    session: OpenSession,
    req: IncomingMessage,
    res: ServerResponse,
    message?: unknown,
  ): Promise<void> => {
    // Loaded already: every request to `/mcp` loads the SDK before it is served.
    const ids = message === undefined ? [] : (await loadSdk()).requestIds(message);
    session.open++;
    session.lastSeen = Date.now();
    res.once('close', () => {
      session.open--;
      session.lastSeen = Date.now();
      if (res.writableFinished) return;
      // As if the client had cancelled them: a waiting next_task stops, tasks it took go back.
      for (const requestId of ids)
        session.transport.onmessage?.({
          jsonrpc: '2.0',
          method: 'notifications/cancelled',
          params: { requestId, reason: 'the client disconnected' },
        });
    });
    await session.transport.handleRequest(req, res, message);
  };

  const handler = async ({ req, res, body, authorized }: RequestContext): Promise<'stream'> => {
    checkOrigin(req);
    const mcpSdk = await loadSdk();
    const header = req.headers[SESSION_HEADER];
    const id = Array.isArray(header) ? header[0] : header;
    if (id === undefined) {
      if (req.method !== 'POST')
        return rpcError(
          res,
          400,
          -32000,
          'Bad Request: no Mcp-Session-Id header: open a session with initialize',
        );
      const message = await body(z.unknown());
      if (!mcpSdk.isInitializeRequest(message))
        return rpcError(
          res,
          400,
          -32000,
          'Bad Request: no Mcp-Session-Id header: open a session with initialize',
        );
      if (closed)
        throw new ApiError(503, 'stopping', 'the node is stopping', undefined, {
          retryAfterS: RETRY_AFTER_S,
        });
      if (sessions.size >= settings.maxSessions) {
        throw new ApiError(
          429,
          'too_many_sessions',
          `${sessions.size} MCP sessions are open (limit mcp.maxSessions = ${settings.maxSessions})`,
          undefined,
          { retryAfterS: RETRY_AFTER_S },
        );
      }
      const session = await start(mcpSdk, authorized);
      await serve(session, req, res, message);
      // An initialize the transport refused opened nothing.
      if (session.transport.sessionId === undefined) await session.mcp.server.close();
      logger.debug({ session: session.id, authorized }, 'MCP session opened');
      return 'stream';
    }
    const session = sessions.get(id);
    if (session === undefined) {
      return rpcError(
        res,
        404,
        -32001,
        'Session not found: it ended (the node restarted, or it was idle for mcp.sessionIdleMs): open a new one with initialize',
      );
    }
    if (session.authorized && !authorized) {
      res.setHeader('www-authenticate', 'Bearer');
      throw new ApiError(
        401,
        'unauthorized',
        'this MCP session was opened with the API key: every request needs it',
      );
    }
    if (req.method !== 'POST') {
      await serve(session, req, res);
      return 'stream';
    }
    // Renewed as the request arrives, before its body is read, like a pull worker's calls.
    session.mcp.touch();
    await serve(session, req, res, await body(z.unknown()));
    return 'stream';
  };

  // Idle sessions are looked for a few times per idle period.
  const sweep = setInterval(
    () => {
      const before = Date.now() - settings.sessionIdleMs;
      for (const session of sessions.values())
        if (session.open === 0 && session.lastSeen < before) void session.mcp.server.close();
    },
    Math.min(60_000, Math.max(250, settings.sessionIdleMs / 4)),
  );
  sweep.unref();

  return {
    routes: (['POST', 'GET', 'DELETE'] as const).map((method) => ({
      method,
      path: '/mcp',
      doc: MCP_DOCS[method],
      // Reads are open on loopback as under /v1; tools that change anything check the session's key.
      access: 'read',
      handler,
    })),
    async close() {
      closed = true;
      clearInterval(sweep);
      await Promise.all([...sessions.values()].map((s) => s.mcp.server.close()));
    },
  };
}
