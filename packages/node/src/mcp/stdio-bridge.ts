import type { Readable, Writable } from 'node:stream';
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import {
  InitializeResultSchema,
  isInitializeRequest,
  isJSONRPCErrorResponse,
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  type JSONRPCMessage,
  type JSONRPCRequest,
  type RequestId,
} from '@modelcontextprotocol/sdk/types.js';

export interface StdioBridgeOptions {
  /** The daemon's MCP endpoint, `<url>/mcp`. */
  readonly url: string;
  /** Sent as `Authorization: Bearer`; without it the session may only read. */
  readonly apiKey: string | undefined;
  readonly input?: Readable;
  readonly output?: Writable;
  /** Diagnostics (stdout carries the protocol). */
  readonly log: (message: string) => void;
  /** Ends the bridge as the end of input does. */
  readonly signal?: AbortSignal;
}

/** The JSON-RPC code for a message the bridge could not deliver (the SDK's ConnectionClosed). */
const UNDELIVERED = -32000;

/**
 * `meshwork mcp`: an MCP server on stdio that is a daemon's `/mcp` endpoint. Each message of the
 * client goes to the daemon as it is, each message of the daemon comes back; the session, its
 * agent and every tool are the daemon's, so the stdio and HTTP transports behave alike. When the
 * daemon no longer knows the session (it restarted), the bridge opens a new one with the client's
 * own `initialize` and sends the message again; an agent then registers again (its tools say so).
 * Resolves once the input ends, after ending the session (the agent's tasks go to other agents
 * at once).
 */
export async function bridgeStdio(options: StdioBridgeOptions): Promise<void> {
  const { log } = options;
  const stdio = new StdioServerTransport(options.input, options.output);
  const headers: Record<string, string> =
    options.apiKey === undefined ? {} : { authorization: `Bearer ${options.apiKey}` };
  /** The client's `initialize`, replayed to open a new session. */
  let initialize: JSONRPCRequest | undefined;
  /** Answers the bridge waits for itself (a replayed initialize), by request id. */
  const awaited = new Map<RequestId, (message: JSONRPCMessage) => void>();
  let replays = 0;

  const toClient = (message: JSONRPCMessage): void => {
    stdio.send(message).catch((err: unknown) => log(`cannot write to stdout: ${String(err)}`));
  };

  const connect = async (): Promise<StreamableHTTPClientTransport> => {
    const transport = new StreamableHTTPClientTransport(new URL(options.url), { requestInit: { headers } });
    transport.onerror = (err) => log(err.message);
    transport.onmessage = (message) => {
      if ((isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message)) && message.id !== undefined) {
        const waiter = awaited.get(message.id);
        if (waiter !== undefined) return waiter(message);
        // Later requests name the protocol version the session agreed on, as the SDK's client does.
        if (message.id === initialize?.id && isJSONRPCResultResponse(message))
          transport.setProtocolVersion(InitializeResultSchema.parse(message.result).protocolVersion);
      }
      toClient(message);
    };
    await transport.start();
    return transport;
  };

  let http = await connect();
  let reopening: Promise<void> | undefined;

  /** A new session, opened with the client's initialize; its answer stays here. */
  const reopen = async (init: JSONRPCRequest): Promise<void> => {
    const previous = http;
    http = await connect();
    await previous.close();
    const id = `meshwork-mcp-reopen-${++replays}`;
    const answer = new Promise<JSONRPCMessage>((resolve) => awaited.set(id, resolve));
    try {
      await http.send({ ...init, id });
      const reply = await answer;
      if (!isJSONRPCResultResponse(reply))
        throw new Error(`the daemon refused initialize: ${JSON.stringify(reply)}`);
      http.setProtocolVersion(InitializeResultSchema.parse(reply.result).protocolVersion);
      await http.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
      log('the daemon no longer knew the session (restarted?): opened a new one');
    } finally {
      awaited.delete(id);
    }
  };

  const forward = async (message: JSONRPCMessage): Promise<void> => {
    if (isJSONRPCRequest(message) && isInitializeRequest(message)) initialize = message;
    await reopening;
    const via = http;
    try {
      await via.send(message);
    } catch (err) {
      const gone = err instanceof StreamableHTTPError && err.code === 404;
      if (!gone || initialize === undefined || message === initialize) throw err;
      // Requests in flight when the session went all reopen it once.
      if (http === via) reopening ??= reopen(initialize).finally(() => (reopening = undefined));
      await reopening;
      await http.send(message);
    }
  };

  stdio.onmessage = (message) => {
    forward(message).catch((err: unknown) => {
      const reason = err instanceof Error ? err.message : String(err);
      log(`cannot reach the daemon at ${options.url}: ${reason}`);
      if (isJSONRPCRequest(message))
        toClient({
          jsonrpc: '2.0',
          id: message.id,
          error: { code: UNDELIVERED, message: `meshwork mcp: ${reason}` },
        });
    });
  };
  stdio.onerror = (err) => log(`bad message on stdin: ${err.message}`);

  const input = options.input ?? process.stdin;
  const ended = new Promise<void>((resolve) => {
    input.once('end', resolve);
    input.once('close', resolve);
    options.signal?.addEventListener('abort', () => resolve(), { once: true });
  });
  await stdio.start();
  await ended;
  await reopening?.catch(() => undefined);
  // Ending the session unregisters its agent: its tasks go to others now, not after the lease.
  await http.terminateSession().catch((err: unknown) => log(`could not end the session: ${String(err)}`));
  await http.close();
  await stdio.close();
}
