import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { API_KEY } from './processes.ts';

/** A tool's answer: its structured content, or the text of its refusal. */
export type ToolAnswer<T> = { ok: true; data: T } | { ok: false; error: string };

export interface McpTestClient {
  readonly client: Client;
  call<T = Record<string, unknown>>(name: string, args?: Record<string, unknown>): Promise<ToolAnswer<T>>;
  /** The answer's data; fails the test with the refusal otherwise. */
  ok<T = Record<string, unknown>>(name: string, args?: Record<string, unknown>): Promise<T>;
  /** The refusal's text; fails the test when the call succeeded. */
  refused(name: string, args?: Record<string, unknown>): Promise<string>;
  /** Ends the session (DELETE) and the connection. */
  close(): Promise<void>;
}

/** An MCP client of the SDK on `transport`, with shorthands for tool calls. */
export async function mcpClient(transport: Transport, name = 'test-agent'): Promise<McpTestClient> {
  const client = new Client({ name, version: '1.0.0' });
  await client.connect(transport);
  const call = async <T>(tool: string, args: Record<string, unknown> = {}): Promise<ToolAnswer<T>> => {
    const result = (await client.callTool({ name: tool, arguments: args })) as CallToolResult;
    if (result.isError === true) {
      const text = result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
      return { ok: false, error: text };
    }
    return { ok: true, data: result.structuredContent as T };
  };
  return {
    client,
    call,
    async ok<T>(tool: string, args?: Record<string, unknown>) {
      const answer = await call<T>(tool, args);
      if (!answer.ok) throw new Error(`${tool} was refused: ${answer.error}`);
      return answer.data;
    },
    async refused(tool, args) {
      const answer = await call(tool, args);
      if (answer.ok) throw new Error(`${tool} was not refused: ${JSON.stringify(answer.data)}`);
      return answer.error;
    },
    async close() {
      if (transport instanceof StreamableHTTPClientTransport) await transport.terminateSession();
      await client.close();
    },
  };
}

/** An MCP client over Streamable HTTP to `<url>/mcp`, with the API key unless `key` is null. */
export function httpMcpClient(
  url: string,
  key: string | null = API_KEY,
  name?: string,
): Promise<McpTestClient> {
  const headers: Record<string, string> = key === null ? {} : { authorization: `Bearer ${key}` };
  return mcpClient(
    new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers } }),
    name,
  );
}
