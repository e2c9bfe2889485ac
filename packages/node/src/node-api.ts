import {
  checkData,
  CoordinatorError,
  parseTemplate,
  terminalStatuses,
  type Coordinator,
  type DocumentPools,
  type SubmitInput,
  type TaskView,
  type WorkflowTemplate,
  type WorkflowView,
} from '@meshwork/coordinator';
import { parseSubmit, planWorkflow } from '@meshwork/coordinator/internal';
import { Emitter, LimitExceededError, type Value } from '@meshwork/core';
import type { MeshNode } from '@meshwork/transport';
import {
  isExecutorCall,
  type ListTasksQuery,
  type ListWorkflowsQuery,
  type StartWorkflowBody,
  type SubmitTaskBody,
} from './api-schema.ts';
import type { ResolvedConfig } from './config.ts';
import { executorCapability, executorOf } from './executors/index.ts';
import { ApiError, type Json, type LiveEvent, type LiveEvents, type NodeApi } from './http-server.ts';
import { toJson } from './json.ts';
import { pageOf } from './memory/cursor-page.ts';
import { createMemoryApi } from './memory/memory-api.ts';
import type { SharedMemory } from './memory/shared-memory.ts';
import type { MeshDocument } from './mesh-state.ts';
import type { NodeMetrics } from './metrics.ts';
import type { NodeStore } from './store.ts';
import { differingField } from './task-conflict.ts';
import { taskPage } from './task-page.ts';
import { WORKER_CAPABILITY } from './workers/protocol.ts';

function taskJson(t: TaskView): Json {
  return toJson({
    id: t.id,
    type: t.spec.type,
    status: t.status,
    epoch: t.epoch,
    attempts: t.attemptsUsed,
    agent: t.agent,
    needs: t.spec.needs,
    input: t.spec.input,
    priority: t.spec.priority,
    dependsOn: t.spec.dependsOn,
    // The rest of the task as submitted, in the submission's shape: read back, it submits the same task.
    resources: t.spec.resources,
    retry: t.spec.retry,
    timeouts: t.spec.timeouts,
    idempotencyKey: t.spec.idempotencyKey,
    submittedAt: t.spec.submittedAt,
    submittedBy: t.spec.submittedBy,
    workflow: t.spec.workflow,
    result: t.result,
    error: t.error,
    progress: t.progress,
    // Only on a traced task, to find its trace in a backend.
    ...(t.spec.trace !== undefined && { traceId: t.spec.trace.traceparent.slice(3, 35) }),
  });
}

function workflowJson(w: WorkflowView): Json {
  return toJson({ id: w.run, ...w });
}

/** Maps the coordinator's typed errors onto HTTP statuses; `field` carries over to the 400 body. */
function coordinatorCall<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (!(err instanceof CoordinatorError)) throw err;
    const status = err.code === 'unknown_task' ? 404 : err.code === 'stopped' ? 503 : 400;
    const code = err.cause instanceof LimitExceededError ? 'limit_exceeded' : 'invalid_request';
    throw new ApiError(status, status === 400 ? code : err.code, err.message, err.field);
  }
}

/**
 * A task gone from the shared state (finished, then removed after the retention period) as this
 * node archived it; `undefined` when this node has no record of it.
 */
function removedTaskJson(store: NodeStore, id: string): Json | undefined {
  const result = store.result(id);
  const history = store.attempts(id);
  if (result === undefined && history.length === 0) return undefined;
  return toJson({
    id,
    removed: true,
    // Null when this node saw attempts but not the end (it was offline when the task finished).
    status: result?.status ?? null,
    result: result?.result ?? null,
    error: result?.error ?? null,
    finishedAt: result?.finishedAt ?? null,
    history,
  });
}

/** Sent as `Retry-After` with a 429 for too many open tasks: about one settle-and-run cycle. */
const OPEN_TASKS_RETRY_AFTER_S = 5;
/** Sent as `Retry-After` with a 429 for an overloaded node: a lag counts for 10 s after it. */
const OVERLOADED_RETRY_AFTER_S = 2;

/** A 400 for a value that breaks the shared state's limits, or nothing. */
function assertFits(value: unknown, field: string): void {
  coordinatorCall(() => checkData(field, value));
}

/** Thrown from a dry-run plan as soon as it passes the limit, so a huge forEach is never built whole. */
class FanOutExceeded extends Error {}

export interface NodeApiDeps {
  config: ResolvedConfig;
  coordinator: Coordinator;
  mesh: MeshNode<MeshDocument>;
  pools: DocumentPools;
  store: NodeStore;
  documentName: string;
  metrics: NodeMetrics;
  memory: SharedMemory;
  draining(): boolean;
  url(): string;
  /** Ids of the agents this node's config registers now. */
  localAgents(): readonly string[];
}

/**
 * The daemon's API over the coordinator and the mesh, and its live event feed: `task` when a
 * task's status, holder or progress changes here, `workflow` with it for workflow tasks,
 * `peers` when the connection count changes, `memory` when a shared-memory document changes.
 */
export function createNodeApi(deps: NodeApiDeps): { api: NodeApi; stop(): void } {
  const { config, coordinator, mesh, pools, store, metrics } = deps;
  const replica = mesh.replica;
  const startedAt = Date.now();
  // Checked with parseTemplate when the config was loaded.
  const templates = new Map(Object.entries(config.workflows) as [string, WorkflowTemplate][]);

  const live = new Emitter<LiveEvents>();
  const broadcast = (e: LiveEvent): void => live.emit('event', [e]);
  const onTask = coordinator.events.on('task', (t) => {
    if (!live.listens('event')) return;
    broadcast({ type: 'task', data: taskJson(t) });
    if (t.spec.workflow !== null) {
      const wf = coordinator.workflows.get(t.spec.workflow.run);
      if (wf) broadcast({ type: 'workflow', data: workflowJson(wf) });
    }
  });
  const onGone = coordinator.events.on('gone', (e) => broadcast({ type: 'removed', data: { id: e.task } }));
  const onMesh = mesh.metrics.on('event', (e) => {
    if (e.type === 'peers') broadcast({ type: 'peers', data: { connected: e.connected } });
  });
  const onMemory = deps.memory.on('change', (change) => broadcast({ type: 'memory', data: change }));

  // Tasks not yet finished, kept up to date from the coordinator's changes rather than counted
  // per request (listing derives every task).
  const open = new Set<string>();
  const track = (t: TaskView): void => {
    if (terminalStatuses.has(t.status)) open.delete(t.id);
    else open.add(t.id);
  };
  coordinator.events.on('task', track);
  const onOpenGone = coordinator.events.on('gone', (e) => open.delete(e.task));
  for (const t of coordinator.list()) track(t);
  const assertRoom = (): void => {
    const maxLagMs = config.limits.maxEventLoopLagMs;
    const lagMs = maxLagMs > 0 ? mesh.presence.lagMs() : 0;
    if (lagMs > maxLagMs)
      throw new ApiError(
        429,
        'overloaded',
        `this node's event loop ran ${lagMs} ms late within the last 10 s (limit limits.maxEventLoopLagMs = ${maxLagMs}); retry later`,
        undefined,
        { retryAfterS: OVERLOADED_RETRY_AFTER_S },
      );
    if (open.size < config.limits.maxOpenTasks) return;
    throw new ApiError(
      429,
      'too_many_open_tasks',
      `${open.size} tasks are open on this node (limit limits.maxOpenTasks = ${config.limits.maxOpenTasks}); retry later`,
      undefined,
      { retryAfterS: OPEN_TASKS_RETRY_AFTER_S },
    );
  };

  /**
   * A resubmission under an existing id must be the same task: a retried request is answered as
   * the first was, but a different body under the same id would be silently dropped, so it is refused.
   */
  const assertSameTask = (id: string, submission: SubmitInput): void => {
    const existing = coordinator.get(id);
    if (existing === null) return;
    const submitted = coordinatorCall(() =>
      parseSubmit(submission, { now: 0, replica, randomId: () => id, id }),
    );
    const field = differingField(existing.spec, submitted);
    if (field !== undefined)
      throw new ApiError(
        409,
        'task_conflict',
        `${field}: task ${id} exists with another ${field}; submit under a new id`,
        field,
      );
  };

  /**
   * Plans the run's first wave as the coordinator will, without writing anything, and refuses it
   * when it would create more tasks than `limits.maxWorkflowTasks` or a task input past the
   * value limits. Later waves depend on results and are planned by the coordinator.
   */
  const assertPlanFits = (template: WorkflowTemplate, params: { [k: string]: Value }): void => {
    const max = config.limits.maxWorkflowTasks;
    let planned = 0;
    let plan: ReturnType<typeof planWorkflow>;
    try {
      plan = planWorkflow('dry-run', parseTemplate(template), params, () => {
        if (++planned > max) throw new FanOutExceeded();
        return undefined;
      });
    } catch (err) {
      if (err instanceof FanOutExceeded) {
        throw new ApiError(
          400,
          'limit_exceeded',
          `template: the workflow would create more than ${max} tasks at once (limit limits.maxWorkflowTasks)`,
          'template',
        );
      }
      // An invalid template is reported by the coordinator's own start, with its field.
      if (err instanceof CoordinatorError) return;
      throw err;
    }
    // A run whose first wave already fails (a forEach past MAX_RUN_TASKS, an expression that
    // cannot be evaluated) would only leave a failed workflow behind.
    if (plan.status === 'failed')
      throw new ApiError(
        400,
        'invalid_request',
        `template: the run would fail at once: ${plan.reason}`,
        'template',
      );
    for (const t of plan.tasks) assertFits(t.submit.input, `template.steps.${t.ref.step}.input`);
  };

  const api: NodeApi = {
    ready: () => coordinator.caughtUp && !deps.draining(),
    status: () =>
      toJson({
        node: config.name,
        peerId: replica,
        multiaddrs: mesh.multiaddrs.map(String),
        url: deps.url(),
        uptimeMs: Date.now() - startedAt,
        ready: coordinator.caughtUp && !deps.draining(),
        caughtUp: coordinator.caughtUp,
        draining: deps.draining(),
        peers: mesh.peers().length,
        agents: deps.localAgents(),
        tasks: coordinator.counts(),
        settleMs: coordinator.settleMs(),
        pools: Object.fromEntries(
          Object.keys(config.resources).map((p) => [
            p,
            { free: pools.value(p), localRights: pools.rights(p) },
          ]),
        ),
        store: { path: store.path, events: store.eventCount(deps.documentName) },
      }),
    peers: () =>
      toJson(
        mesh.peers().map((peerId) => ({
          peerId,
          addrs: mesh.libp2p
            .getConnections()
            .filter((c) => c.remotePeer.toString() === peerId)
            .map((c) => c.remoteAddr.toString()),
        })),
      ),
    agents: () =>
      toJson(
        coordinator.agents().map(({ stats: { health, ...stats }, ...a }) => ({
          id: a.id,
          node: a.node,
          local: a.node === replica,
          capabilities: a.capabilities,
          capacity: a.capacity,
          load: a.load,
          live: a.alive && !a.retired,
          retired: a.retired,
          metadata: a.metadata,
          health: health ?? { degraded: false, reason: null },
          stats,
        })),
      ),
    listTasks: (q: ListTasksQuery) => {
      const page = taskPage(coordinator.list(q.status !== undefined ? { status: q.status } : {}), q);
      return { items: page.items.map(taskJson), nextCursor: page.nextCursor };
    },
    getTask: (id) => {
      const t = coordinator.get(id);
      if (t !== null) return toJson({ ...(taskJson(t) as object), history: coordinator.attempts(id) });
      return removedTaskJson(store, id);
    },
    taskHistory: (id) => toJson(store.attempts(id)),
    submitTask: (body: SubmitTaskBody) => {
      // A resubmission of a task this node holds changes nothing, so it is never refused.
      if (body.id === undefined || coordinator.get(body.id) === null) assertRoom();
      const executor = isExecutorCall(body.input)
        ? executorCapability(executorOf(body.input))
        : WORKER_CAPABILITY;
      const submission: SubmitInput = {
        ...body,
        type: body.type ?? executor,
        needs: [...new Set([...body.needs, executor])],
        // Checked by submitTaskBody; the coordinator holds it to the shared state's limits.
        input: body.input as Value,
      };
      if (body.id !== undefined) assertSameTask(body.id, submission);
      const id = coordinatorCall(() => coordinator.submit(submission));
      const task = coordinator.get(id)!;
      // Counted now: the coordinator reports the new task to watchers on its next pass.
      track(task);
      return taskJson(task);
    },
    cancelTask: (id) => {
      if (coordinator.get(id) === null) return undefined;
      coordinatorCall(() => coordinator.cancel(id, 'cancelled through the HTTP API'));
      // Counted as finished at once, not at the coordinator's next pass: its place is free now.
      const task = coordinator.get(id)!;
      track(task);
      return taskJson(task);
    },
    listWorkflows: (q: ListWorkflowsQuery) => {
      // By run id: a run started between pages sorts before or after the cursor, and moves none.
      const runs = coordinator.workflows.list().sort((a, b) => (a.run < b.run ? -1 : a.run > b.run ? 1 : 0));
      const page = pageOf(runs, (w) => w.run, q);
      return { items: page.items.map(workflowJson), nextCursor: page.next };
    },
    workflowTemplates: () => toJson([...templates.values()]),
    getWorkflow: (id) => {
      const w = coordinator.workflows.get(id);
      return w === null ? undefined : workflowJson(w);
    },
    startWorkflow: (body: StartWorkflowBody) => {
      let template: WorkflowTemplate;
      if (typeof body.template === 'string') {
        const named = templates.get(body.template);
        if (named === undefined) {
          throw new ApiError(
            400,
            'invalid_request',
            `template: no template named ${body.template}`,
            'template',
          );
        }
        template = named;
      } else {
        // The schema only checks it is an object; the coordinator validates every field of a
        // template (a 400 naming it, through coordinatorCall) before starting anything.
        template = body.template as unknown as WorkflowTemplate;
      }
      // Parsed from JSON, so every value is a Value.
      const params = body.params as { [k: string]: Value };
      assertFits(params, 'params');
      assertFits(template, 'template');
      assertRoom();
      assertPlanFits(template, params);
      const id = coordinatorCall(() =>
        coordinator.workflows.start(template, params, body.id !== undefined ? { id: body.id } : {}),
      );
      return workflowJson(coordinator.workflows.get(id)!);
    },
    live: live.observable(),
    metrics: () => metrics.render(),
    memory: createMemoryApi(deps.memory),
  };

  return {
    api,
    stop() {
      coordinator.events.off('task', onTask);
      coordinator.events.off('task', track);
      coordinator.events.off('gone', onOpenGone);
      mesh.metrics.off('event', onMesh);
      coordinator.events.off('gone', onGone);
      deps.memory.off('change', onMemory);
      live.destroy();
    },
  };
}
