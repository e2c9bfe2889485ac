import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import type { WorkerService } from '../workers/protocol.ts';
import { completeBody, failBody, pollBody, progressBody, registerWorkerBody } from '../workers/schema.ts';
import { liveWorker, registeredWorker } from './agent-session.ts';
import { ToolRefusal } from './refusal.ts';
import { defineTool, type ToolGate, type ToolHints } from './tool-definition.ts';
import { assignmentView, heartbeatView, reportView, workerSessionView } from './views.ts';

const taskId = z.string().min(1).max(256);
/** A report about the attempt the agent holds: the node checks it is the agent's, at that epoch, still running. */
const report: ToolHints = {
  readOnlyHint: false,
  destructiveHint: false,
  idempotentHint: true,
  openWorldHint: false,
};

/**
 * The pull-worker protocol as tools: an MCP session registers one agent and works as a pull
 * worker of this node (README "Pull workers"). Every request of the session renews the agent's
 * lease; a session silent for `workers.leaseMs` loses its tasks to other agents.
 */
export function registerAgentTools(server: McpServer, gate: ToolGate, workers: WorkerService): void {
  const { session } = gate;

  defineTool(
    server,
    gate,
    'register_agent',
    {
      title: 'Register as an agent',
      description:
        'Makes this MCP session an agent of the mesh that takes tasks matching its capabilities (tasks whose `needs` it has). ' +
        'Answers the lease: make some call at least every `leaseMs` (any tool call counts), or the registration ends and ' +
        'your tasks go to other agents. Registering the same id again in this session changes nothing.',
      input: registerWorkerBody,
      output: workerSessionView,
      hints: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    ({ id, capabilities, capacity, metadata }) => {
      const current = liveWorker(session, workers);
      if (current !== undefined) {
        if (current.agentId === id) return { ...current };
        throw new ToolRefusal(
          'session_has_agent',
          `this session is agent ${current.agentId}: unregister_agent first, or open another session for another agent`,
          'id',
        );
      }
      session.worker = workers.register({
        id,
        capabilities,
        capacity,
        metadata: { ...metadata, via: 'mcp' },
      });
      return { ...session.worker };
    },
  );

  defineTool(
    server,
    gate,
    'next_task',
    {
      title: 'Take the next task',
      description:
        'Claims up to `max` tasks for this agent. When none is waiting, waits up to `waitMs` (capped at the node’s ' +
        '`maxWaitMs`) for one; an empty answer gives `retryAfterMs`, when to ask again. Each task carries `taskId` and ' +
        '`epoch`: name both when reporting on it.',
      input: pollBody,
      output: z.strictObject({
        tasks: z.array(assignmentView),
        retryAfterMs: z.number().nullable().describe('when to ask again; null when tasks were given'),
      }),
      hints: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    async ({ waitMs, max }, extra) => {
      const w = registeredWorker(session);
      // Waiting in this call is not silence: the lease is renewed until the call ends or its client goes.
      const renew = setInterval(() => workers.seen(w.workerId), w.heartbeatMs);
      try {
        const tasks = await workers.next(w.workerId, { waitMs, max }, extra.signal);
        // Cancelled (the client hung up): its answer is never sent, so the tasks go back for the next call.
        if (extra.signal.aborted && tasks.length > 0) workers.undelivered(w.workerId, tasks);
        const waited = Math.min(waitMs ?? w.maxWaitMs, w.maxWaitMs) > 0;
        return {
          tasks: tasks.map((t) => ({ ...t })),
          retryAfterMs: tasks.length > 0 ? null : waited ? 0 : Math.min(1_000, w.heartbeatMs),
        };
      } finally {
        clearInterval(renew);
      }
    },
  );

  defineTool(
    server,
    gate,
    'report_progress',
    {
      title: 'Report progress',
      description:
        'Records progress (any JSON, last value wins) of a task this agent holds; others see it as the task’s `progress`.',
      input: progressBody.extend({ taskId }),
      output: reportView,
      hints: report,
    },
    ({ taskId, epoch, data }) => ({
      ...workers.progress(registeredWorker(session).workerId, taskId, epoch, data),
    }),
  );

  defineTool(
    server,
    gate,
    'complete_task',
    {
      title: 'Complete a task',
      description:
        'Ends the attempt this agent holds with its result (any JSON). Refused, changing nothing, when the attempt is ' +
        'no longer this agent’s (its lease ended, the task was cancelled or handed on): the refusal says why.',
      input: completeBody.extend({ taskId }),
      output: reportView,
      hints: report,
    },
    ({ taskId, epoch, result }) => ({
      ...workers.complete(registeredWorker(session).workerId, taskId, epoch, result),
    }),
  );

  defineTool(
    server,
    gate,
    'fail_task',
    {
      title: 'Fail a task',
      description:
        'Ends the attempt this agent holds as failed. With `retryable` (default) the task is tried again under its ' +
        'retry policy, possibly by another agent; without, it fails at once.',
      input: failBody.extend({ taskId }),
      output: reportView,
      hints: report,
    },
    ({ taskId, epoch, message, retryable }) => ({
      ...workers.fail(registeredWorker(session).workerId, taskId, epoch, { message, retryable }),
    }),
  );

  defineTool(
    server,
    gate,
    'heartbeat',
    {
      title: 'Heartbeat',
      description:
        'Renews the lease (as any call does) and lists the tasks this agent holds, and in `aborted` the attempts ' +
        'taken from it since the last heartbeat (cancelled, timed out): stop working on those.',
      input: z.strictObject({}),
      output: heartbeatView,
      hints: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    () => {
      const answer = workers.heartbeat(registeredWorker(session).workerId);
      return { ...answer, tasks: [...answer.tasks], aborted: [...answer.aborted] };
    },
  );

  defineTool(
    server,
    gate,
    'unregister_agent',
    {
      title: 'Unregister the agent',
      description:
        'Ends this session’s agent registration; tasks it still holds go to other agents at once. Ending the MCP ' +
        'session does the same.',
      input: z.strictObject({}),
      output: z.strictObject({ workerId: z.string(), released: z.array(z.string()) }),
      hints: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    () => {
      const w = registeredWorker(session);
      session.worker = undefined;
      const { released } = workers.unregister(w.workerId);
      return { workerId: w.workerId, released: [...released] };
    },
  );
}
