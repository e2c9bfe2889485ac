import { Counter, Gauge, type Registry } from 'prom-client';

export interface McpMetrics {
  /** MCP sessions open now. */
  sessions(count: number): void;
  /** A tool call answered: `ok`, or the refusal's code. */
  toolCall(tool: string, outcome: string): void;
}

/** MCP server figures, registered on the node's Prometheus registry. */
export function createMcpMetrics(registry: Registry): McpMetrics {
  const sessions = new Gauge({
    name: 'meshwork_mcp_sessions',
    help: 'MCP sessions open on this node (Streamable HTTP at /mcp)',
    registers: [registry],
  });
  const calls = new Counter({
    name: 'meshwork_mcp_tool_calls_total',
    help: 'MCP tool calls, by tool and outcome (ok, or the refusal code)',
    labelNames: ['tool', 'outcome'],
    registers: [registry],
  });
  sessions.set(0);
  return {
    sessions: (count) => sessions.set(count),
    toolCall: (tool, outcome) => calls.inc({ tool, outcome }),
  };
}
