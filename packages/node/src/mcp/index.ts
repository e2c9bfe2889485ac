/** The MCP server (README "MCP server"): Streamable HTTP at `/mcp`, stdio through `meshwork mcp`. */
import type { Registry } from 'prom-client';
import type { McpSettings } from '../config.ts';
import { createWriteTurns } from '../write-turns.ts';
import { createMcpEndpoint, type McpEndpoint } from './http-endpoint.ts';
import { createMcpMetrics } from './metrics.ts';
import type { McpDeps } from './server.ts';

export { createMcpEndpoint, type McpEndpoint, type McpEndpointDeps } from './http-endpoint.ts';
export type { McpDeps, McpSession } from './server.ts';
export { createMcpMetrics, type McpMetrics } from './metrics.ts';

/** A node's MCP endpoint over its API, pull workers and shared memory, with its metrics on `registry`. */
export function createNodeMcp(
  deps: Omit<McpDeps, 'metrics' | 'writeTurn'> & {
    readonly registry: Registry;
    readonly settings: McpSettings;
  },
): McpEndpoint {
  const metrics = createMcpMetrics(deps.registry);
  const sessionDeps: McpDeps = { ...deps, metrics, writeTurn: createWriteTurns() };
  return createMcpEndpoint({
    // The SDK's server and the tools load with the first session, like its transport.
    open: async (options) => (await import('./server.ts')).openMcpSession(sessionDeps, options),
    settings: deps.settings,
    logger: deps.logger,
    metrics,
  });
}
