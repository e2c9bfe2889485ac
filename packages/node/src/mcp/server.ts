import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { NodeApi } from '../http-server.ts';
import type { Logger } from '../logger.ts';
import type { SharedMemory } from '../memory/shared-memory.ts';
import { VERSION } from '../version.ts';
import { WorkerError } from '../workers/errors.ts';
import type { WorkerService } from '../workers/protocol.ts';
import { liveWorker, type AgentSession } from './agent-session.ts';
import { registerAgentTools } from './agent-tools.ts';
import { registerMemoryTools } from './memory-tools.ts';
import type { McpMetrics } from './metrics.ts';
import { registerResources } from './resources.ts';
import { createMeshTaskStore } from './task-store.ts';
import { registerTaskTools } from './task-tools.ts';

export interface McpDeps {
  readonly api: NodeApi;
  readonly workers: WorkerService;
  readonly memory: SharedMemory;
  readonly logger: Logger;
  readonly metrics: McpMetrics;
  /** Turns for writes, one per event-loop iteration (write-turns.ts). */
  readonly writeTurn: () => Promise<void>;
}

/** One MCP session's server, bound to its caller. */
export interface McpSession {
  readonly server: McpServer;
  /** A request of the session arrived: it renews the lease of the session's agent. */
  touch(): void;
  /** The session ended: its agent unregisters, and the tasks it holds go to other agents at once. */
  end(): void;
}

const INSTRUCTIONS = `Meshwork: a mesh of nodes that share tasks, workflow runs and memory.
To work as an agent: register_agent once (an id and capabilities), then loop: next_task (waits for a task matching your capabilities) -> report_progress while working -> complete_task or fail_task, naming the task's taskId and epoch. Any call renews your registration: make one at least every leaseMs (register_agent answers it), or your tasks go to other agents and your late reports are refused. heartbeat also lists attempts taken from you (cancelled).
To hand out work: submit_task or start_workflow (waitMs waits for the end; a task-augmented call follows it as an MCP task), then get_task / get_workflow; any node answers for any task.
Shared memory: memory_list, memory_get, memory_query, memory_put.
A refused call is a tool error whose text starts with its code (stale_attempt, not_found, limit_exceeded, …) and changes nothing.`;

/**
 * An MCP server for one session: the tools, resources and MCP tasks of this node, with the
 * session's rights (`authorized`: it was opened with the API key; without, tools that change
 * anything are refused) and its agent.
 */
export function openMcpSession(deps: McpDeps, options: { readonly authorized: boolean }): McpSession {
  const session: AgentSession = { authorized: options.authorized, worker: undefined };
  const server = new McpServer(
    { name: 'meshwork', title: 'Meshwork', version: VERSION },
    {
      capabilities: { tasks: { cancel: {}, requests: { tools: { call: {} } } } },
      taskStore: createMeshTaskStore({ api: deps.api, authorized: options.authorized }),
      instructions: INSTRUCTIONS,
    },
  );
  server.server.onerror = (err) => deps.logger.debug({ err }, 'MCP session error');
  const gate = { session, writeTurn: deps.writeTurn, metrics: deps.metrics, logger: deps.logger };
  registerAgentTools(server, gate, deps.workers);
  registerTaskTools(server, gate, deps.api);
  registerMemoryTools(server, gate, deps.memory);
  registerResources(server, deps.api);
  return {
    server,
    touch() {
      if (session.worker !== undefined) deps.workers.seen(session.worker.workerId);
    },
    end() {
      const w = liveWorker(session, deps.workers);
      session.worker = undefined;
      if (w === undefined) return;
      try {
        deps.workers.unregister(w.workerId);
      } catch (err) {
        // The node is stopping, or the worker expired meanwhile: nothing is left to release.
        if (!(err instanceof WorkerError)) throw err;
      }
    },
  };
}
