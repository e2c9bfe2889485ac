import type {
  CreateTaskOptions,
  TaskStore,
} from '@modelcontextprotocol/sdk/experimental/tasks/interfaces.js';
import type { CallToolResult, Request, Task } from '@modelcontextprotocol/sdk/types.js';
import type { NodeApi } from '../http-server.ts';
import { structuredResult, type Structured } from './tool-definition.ts';
import { taskView, workflowView, type TaskView, type WorkflowView } from './views.ts';

/** How often a client should poll an MCP task, and how often a waiting call looks at its task. */
export const TASK_POLL_MS = 250;

/** A task or a workflow run of the mesh. */
export interface MeshRef {
  readonly kind: 'tasks' | 'workflows';
  readonly id: string;
}

/** Its resource URI, which is also the id of the MCP task that follows it. */
function resourceUri(ref: MeshRef): string {
  return `meshwork://${ref.kind}/${ref.id}`;
}

const MCP_TASK_ID =
  /^meshwork:\/\/(tasks|workflows)\/([A-Za-z0-9][A-Za-z0-9._:-]{0,127})(?:\?until=(\d{1,16}))?$/;

/**
 * An MCP task id: the resource URI of what it follows, and for a call that waits a bounded time
 * (one that is not task-augmented) `?until=<unix ms>`, when the call ends whatever happened.
 * Everything an MCP task is lives in its id and the mesh: any node answers for it.
 */
interface McpTaskRef {
  readonly ref: MeshRef;
  readonly until: number | undefined;
}

function parseTaskId(taskId: string): McpTaskRef | undefined {
  const m = MCP_TASK_ID.exec(taskId);
  if (m === null) return undefined;
  return {
    ref: { kind: m[1] as MeshRef['kind'], id: m[2]! },
    until: m[3] === undefined ? undefined : Number(m[3]),
  };
}

function taskIdOf({ ref, until }: McpTaskRef): string {
  return `${resourceUri(ref)}${until === undefined ? '' : `?until=${until}`}`;
}

/** The `context` a task tool passes to `createTask`: what it started, and how long a plain call waits. */
export function taskContext(ref: MeshRef, waitMs: number): Record<string, unknown> {
  return { kind: ref.kind, id: ref.id, waitMs };
}

/** Whether an MCP task is a plain call's bounded wait (its tool reports progress while it lasts). */
export function isBoundedWait(task: Task): boolean {
  return parseTaskId(task.taskId)?.until !== undefined;
}

/** What a task or run looks like to an MCP task: its JSON, whether it ended, and how it is going. */
interface Observation {
  readonly view: Structured;
  /** The MCP status once it has ended; undefined while it runs. */
  readonly ended: 'completed' | 'failed' | 'cancelled' | undefined;
  readonly message: string;
  readonly createdAt: number;
  readonly updatedAt: number | undefined;
}

const MESSAGE_PROGRESS_CHARS = 200;

const ENDED = { succeeded: 'completed', failed: 'failed', cancelled: 'cancelled' } as const;

function taskMessage(t: TaskView): string {
  switch (t.status) {
    case null:
      return 'finished and removed from the mesh; this node did not see how it ended';
    case 'pending':
      return 'pending: waiting for an agent';
    case 'claimed':
      return `claimed by ${t.agent ?? '?'}`;
    case 'running': {
      const progress = t.progress === null || t.progress === undefined ? '' : JSON.stringify(t.progress);
      const shown =
        progress.length > MESSAGE_PROGRESS_CHARS ? `${progress.slice(0, MESSAGE_PROGRESS_CHARS)}…` : progress;
      return `running on ${t.agent ?? '?'} (epoch ${t.epoch ?? 1})${shown === '' ? '' : `: ${shown}`}`;
    }
    case 'succeeded':
      return `succeeded on ${t.agent ?? '?'}`;
    case 'failed':
      return `failed: ${t.error ?? 'unknown error'}`;
    case 'cancelled':
      return `cancelled${t.error ? `: ${t.error}` : ''}`;
  }
}

function observeTask(t: TaskView): Observation {
  const times = (t.history ?? []).flatMap((a) =>
    a.endedAt === null ? [a.startedAt] : [a.startedAt, a.endedAt],
  );
  if (t.finishedAt !== undefined && t.finishedAt !== null) times.push(t.finishedAt);
  const createdAt = t.submittedAt ?? Math.min(...times, Date.now());
  const status = t.status;
  return {
    view: t,
    ended:
      status === 'succeeded' || status === 'failed' || status === 'cancelled'
        ? ENDED[status]
        : t.removed === true
          ? 'completed'
          : undefined,
    message: taskMessage(t),
    createdAt,
    updatedAt: Math.max(createdAt, ...times),
  };
}

function observeWorkflow(w: WorkflowView, firstTask: TaskView | undefined): Observation {
  const steps = Object.entries(w.steps)
    .map(([step, state]) => `${step} ${state}`)
    .join(', ');
  return {
    view: w,
    ended: w.status === 'succeeded' ? 'completed' : w.status === 'failed' ? 'failed' : undefined,
    message: `${w.status}${steps === '' ? '' : `: ${steps}`}${w.reason === null ? '' : ` (${w.reason})`}`,
    // A run records no times of its own: its first task was submitted when it started.
    createdAt: firstTask?.submittedAt ?? Date.now(),
    updatedAt: undefined,
  };
}

/** Runs whose last change this store saw, for `lastUpdatedAt`; the oldest are forgotten. */
const REMEMBERED_RUNS = 1_000;

/**
 * MCP tasks over the mesh's shared state (the MCP Tasks extension, experimental in the SDK). The
 * MCP task of a `submit_task` or `start_workflow` call follows the Meshwork task or run it
 * started: its id is the resource URI (`meshwork://tasks/<id>`), its status the mesh's, its
 * result the tool's answer, read when asked. Nothing is held here, so every node of the mesh
 * answers for every MCP task, and a task outlives the node that created it.
 *
 * A call that is not task-augmented gets the SDK's polling of an MCP task too: its id carries
 * `until`, the end of the call's bounded wait, after which the task reads as completed (with the
 * Meshwork task as it then stands) even if the Meshwork task goes on.
 */
export function createMeshTaskStore(deps: {
  readonly api: NodeApi;
  /** Whether the session gave the API key: cancelling needs it. */
  readonly authorized: boolean;
}): TaskStore {
  const { api } = deps;
  const runChanges = new Map<string, { message: string; at: number }>();

  const observe = (ref: MeshRef): Observation | undefined => {
    if (ref.kind === 'tasks') {
      const json = api.getTask(ref.id);
      return json === undefined ? undefined : observeTask(taskView.parse(json));
    }
    const json = api.getWorkflow(ref.id);
    if (json === undefined) return undefined;
    const w = workflowView.parse(json);
    const first = w.tasks[0] === undefined ? undefined : api.getTask(w.tasks[0]);
    const seen = observeWorkflow(w, first === undefined ? undefined : taskView.parse(first));
    const last = runChanges.get(ref.id);
    if (last?.message !== seen.message) {
      runChanges.delete(ref.id);
      runChanges.set(ref.id, { message: seen.message, at: Date.now() });
      if (runChanges.size > REMEMBERED_RUNS) runChanges.delete(runChanges.keys().next().value!);
    }
    return { ...seen, updatedAt: runChanges.get(ref.id)!.at };
  };

  const mcpTask = (ref: McpTaskRef): { task: Task; seen: Observation } | undefined => {
    const seen = observe(ref.ref);
    if (seen === undefined) return undefined;
    const now = Date.now();
    const waited = seen.ended === undefined && ref.until !== undefined && now >= ref.until;
    const updatedAt = seen.updatedAt ?? now;
    return {
      seen,
      task: {
        taskId: taskIdOf(ref),
        status: seen.ended ?? (waited ? 'completed' : 'working'),
        statusMessage: seen.message,
        createdAt: new Date(seen.createdAt).toISOString(),
        lastUpdatedAt: new Date(waited ? Math.max(updatedAt, ref.until) : updatedAt).toISOString(),
        // Kept as the mesh keeps tasks (retention), then in each node's archive.
        ttl: null,
        pollInterval: TASK_POLL_MS,
      },
    };
  };

  const known = (taskId: string): McpTaskRef => {
    const ref = parseTaskId(taskId);
    if (ref === undefined)
      throw new Error(`no MCP task ${taskId}: ids are meshwork://tasks/<id> or meshwork://workflows/<id>`);
    return ref;
  };

  return {
    createTask(params: CreateTaskOptions, _requestId, request: Request) {
      const context = params.context ?? {};
      const ref: MeshRef = {
        kind: context.kind === 'workflows' ? 'workflows' : 'tasks',
        id: String(context.id),
      };
      const augmented = (request.params as { task?: unknown } | undefined)?.task !== undefined;
      const waitMs = typeof context.waitMs === 'number' ? context.waitMs : 0;
      const created = mcpTask({ ref, until: augmented ? undefined : Date.now() + waitMs });
      if (created === undefined) return Promise.reject(new Error(`${resourceUri(ref)} is not known here`));
      return Promise.resolve(created.task);
    },

    getTask(taskId) {
      const ref = parseTaskId(taskId);
      return Promise.resolve(ref === undefined ? null : (mcpTask(ref)?.task ?? null));
    },

    getTaskResult(taskId): Promise<CallToolResult> {
      const ref = known(taskId);
      const found = mcpTask(ref);
      if (found === undefined) return Promise.reject(new Error(`${resourceUri(ref.ref)} is not known here`));
      const { task, seen } = found;
      const what = ref.ref.kind === 'tasks' ? `task ${ref.ref.id}` : `workflow run ${ref.ref.id}`;
      const note =
        seen.ended === undefined
          ? `${what} is still ${seen.message} at the end of the wait; ask again with ${ref.ref.kind === 'tasks' ? 'get_task' : 'get_workflow'}`
          : undefined;
      const result = structuredResult(seen.view, note);
      return Promise.resolve(
        task.status === 'failed' || task.status === 'cancelled' ? { ...result, isError: true } : result,
      );
    },

    async updateTaskStatus(taskId, status) {
      const { ref } = known(taskId);
      if (status !== 'cancelled')
        throw new Error(`an MCP task's status follows the mesh: it cannot be set to ${status}`);
      if (ref.kind === 'workflows')
        throw new Error('a workflow run cannot be cancelled: cancel its tasks (cancel_task)');
      if (!deps.authorized)
        throw new Error('unauthorized: cancelling needs a session opened with the API key');
      await Promise.resolve(api.cancelTask(ref.id));
    },

    storeTaskResult() {
      return Promise.reject(new Error("a Meshwork task's result comes from the mesh, not from tasks/result"));
    },

    listTasks() {
      return Promise.reject(new Error('tasks/list is not offered: use the list_tasks tool'));
    },
  };
}
