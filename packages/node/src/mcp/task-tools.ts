import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { listTasksQuery, startWorkflowBody, submitTaskBody } from '../api-schema.ts';
import type { NodeApi } from '../http-server.ts';
import { validationError } from '../http/validation.ts';
import { reportProgress } from './progress.ts';
import { refusalText, ToolRefusal } from './refusal.ts';
import { isBoundedWait, TASK_POLL_MS, taskContext, type MeshRef } from './task-store.ts';
import { admit, defineTool, refusalFor, type ToolGate, type ToolSpec } from './tool-definition.ts';
import { agentView, taskPageView, taskView, workflowView } from './views.ts';

/**
 * Longest a plain call waits for the task or run it started: the SDK's client gives up on a call
 * after 60 s by default, so the answer must come before.
 */
const MAX_CALL_WAIT_MS = 50_000;

const waitMs = z
  .number()
  .int()
  .min(0)
  .max(MAX_CALL_WAIT_MS)
  .default(0)
  .describe(
    'how long a plain call waits for the end (ms, default 0: answer at once); a task-augmented call follows it to the end',
  );
const id = z.string().min(1).max(256);
const read = {
  readOnlyHint: true,
  destructiveHint: false,
  idempotentHint: true,
  openWorldHint: false,
} as const;

/**
 * A start tool's arguments as the SDK sees them: it lists `schema` (the HTTP body's) but lets
 * every call through, and the tool checks the arguments as the HTTP route checks its body, so a
 * bad one is refused with the code and field POST /v1/tasks answers (`invalid_request`,
 * `timeouts.runMs`), not the SDK's own text.
 */
function listedAs(schema: z.ZodObject): z.ZodObject {
  // The SDK lists it as draft-7 with no `$schema`, as it lists every other tool.
  const json: Record<string, unknown> = z.toJSONSchema(schema, { io: 'input', target: 'draft-7' });
  delete json['$schema'];
  return z.looseObject({}).meta(json);
}

/**
 * A tool that starts work in the mesh, backed by an MCP task (the SDK's Tasks extension): a
 * task-augmented call answers at once with the MCP task that follows the work to its end (any
 * node answers `tasks/get` and `tasks/result` for it); a plain call waits up to `waitMs` for the
 * end, sending progress notifications, and answers the task or run as it then stands.
 */
function defineStartTool<I extends z.ZodObject, O extends z.ZodObject>(
  server: McpServer,
  gate: ToolGate,
  name: string,
  spec: ToolSpec<I, O>,
  start: (args: z.output<I>) => Promise<{ ref: MeshRef; waitMs: number }>,
): void {
  const input = listedAs(spec.input);
  server.experimental.tasks.registerToolTask(
    name,
    {
      title: spec.title,
      description: spec.description,
      inputSchema: input,
      outputSchema: spec.output,
      annotations: { title: spec.title, ...spec.hints },
      execution: { taskSupport: 'optional' },
    },
    {
      createTask: async (args, extra) => {
        try {
          await admit(gate, name, spec.hints);
          const parsed = spec.input.safeParse(args);
          if (!parsed.success) throw validationError(parsed.error, '');
          const { ref, waitMs } = await start(parsed.data);
          const task = await extra.taskStore.createTask({
            pollInterval: TASK_POLL_MS,
            context: taskContext(ref, waitMs),
          });
          if (isBoundedWait(task)) reportProgress(() => extra.taskStore.getTask(task.taskId), extra);
          gate.metrics.toolCall(name, 'ok');
          return { task };
        } catch (err) {
          const refusal = refusalFor(gate, name, err);
          gate.metrics.toolCall(name, refusal.code);
          // The SDK answers a thrown error as a tool error with its message.
          throw new Error(refusalText(refusal), { cause: err });
        }
      },
      getTask: (_args, extra) => extra.taskStore.getTask(extra.taskId),
      getTaskResult: async (_args, extra) =>
        (await extra.taskStore.getTaskResult(extra.taskId)) as CallToolResult,
    },
  );
}

const found = <T>(value: T | undefined, what: string): T => {
  if (value === undefined) throw new ToolRefusal('not_found', `no ${what}`, 'id');
  return value;
};

/** Tasks, workflow runs and agents of the mesh, as the HTTP API serves them; any node answers for any task. */
export function registerTaskTools(server: McpServer, gate: ToolGate, api: NodeApi): void {
  defineStartTool(
    server,
    gate,
    'submit_task',
    {
      title: 'Submit a task',
      description:
        'Submits a task to the mesh (as POST /v1/tasks). An `input` that is not an executor call is for agents such as ' +
        'MCP agents and pull workers (`needs` picks which); an executor call ({ executor: "shell" | "http" | "module", … }) ' +
        'runs on a node agent with that executor. With an `id`, submitting again changes nothing.',
      input: submitTaskBody.extend({ waitMs }),
      output: taskView,
      hints: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    },
    async ({ waitMs, ...body }) => {
      const task = taskView.parse(await api.submitTask(body));
      return { ref: { kind: 'tasks', id: task.id }, waitMs };
    },
  );

  defineStartTool(
    server,
    gate,
    'start_workflow',
    {
      title: 'Start a workflow',
      description:
        'Starts a run of a workflow template: one configured on the node (by name) or an inline definition, with ' +
        '`params`. The run advances on any node; its tasks are ordinary tasks.',
      input: startWorkflowBody.extend({ waitMs }),
      output: workflowView,
      hints: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    },
    async ({ waitMs, ...body }) => {
      const run = workflowView.parse(await api.startWorkflow(body));
      return { ref: { kind: 'workflows', id: run.id }, waitMs };
    },
  );

  defineTool(
    server,
    gate,
    'get_task',
    {
      title: 'Get a task',
      description:
        'A task of the mesh with its status, result or error, progress and attempts (`history`). Any node answers for ' +
        'any task; one removed after its retention period is answered from this node’s archive (`removed: true`).',
      input: z.strictObject({ id }),
      output: taskView,
      hints: read,
    },
    ({ id }) => taskView.parse(found(api.getTask(id), `task ${id}`)),
  );

  defineTool(
    server,
    gate,
    'list_tasks',
    {
      title: 'List tasks',
      description:
        'A page of the tasks of the mesh, newest first, optionally only those with one status; pass `nextCursor` as `cursor` for the next page.',
      input: listTasksQuery,
      output: z.strictObject({ tasks: z.array(taskView), nextCursor: z.string().nullable() }),
      hints: read,
    },
    (query) => {
      const page = taskPageView.parse(api.listTasks(query));
      return { tasks: page.items, nextCursor: page.nextCursor };
    },
  );

  defineTool(
    server,
    gate,
    'cancel_task',
    {
      title: 'Cancel a task',
      description:
        'Cancels a task that has not ended; an agent running it sees its attempt aborted. Cancelling an ended task ' +
        'changes nothing.',
      input: z.strictObject({ id }),
      output: taskView,
      hints: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    ({ id }) => taskView.parse(found(api.cancelTask(id), `task ${id}`)),
  );

  defineTool(
    server,
    gate,
    'get_workflow',
    {
      title: 'Get a workflow run',
      description: 'A workflow run: its status, the state of each step, its tasks, and why it failed.',
      input: z.strictObject({ id }),
      output: workflowView,
      hints: read,
    },
    ({ id }) => workflowView.parse(found(api.getWorkflow(id), `workflow run ${id}`)),
  );

  defineTool(
    server,
    gate,
    'list_agents',
    {
      title: 'List agents',
      description:
        'The agents the mesh knows, on every node: capabilities, capacity, load and liveness (MCP agents have `metadata.via: "mcp"`).',
      input: z.strictObject({}),
      output: z.strictObject({ agents: z.array(agentView) }),
      hints: read,
    },
    () => ({ agents: z.array(agentView).parse(api.agents()) }),
  );
}
