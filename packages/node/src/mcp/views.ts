import { resourcesSchema, retrySchema, timeoutsSchema } from '@meshwork/coordinator';
import { z } from 'zod';
import { MEMBER_TYPES } from '../memory/member-types.ts';

/*
 * Output schemas of the MCP tools: the JSON the HTTP API answers, described for clients (each
 * tool lists its schema) and checked by the SDK before a result leaves the server. Objects are
 * loose where the API may add fields.
 */

const json = z.unknown();
const attempt = z.looseObject({
  epoch: z.number(),
  agent: z.string(),
  startedAt: z.number(),
  endedAt: z.number().nullable(),
  outcome: z.string(),
});

export const TASK_STATES = ['pending', 'claimed', 'running', 'succeeded', 'failed', 'cancelled'] as const;

/**
 * A task as `GET /v1/tasks/:id` shows it; `removed: true` (with fewer fields) for one that left the
 * shared state after its retention period, from this node's archive (`status` null when this node
 * did not see it end).
 */
export const taskView = z.looseObject({
  id: z.string(),
  status: z.enum(TASK_STATES).nullable(),
  removed: z.literal(true).optional(),
  type: z.string().optional(),
  epoch: z.number().optional(),
  attempts: z.number().optional(),
  agent: z.string().nullable().optional(),
  needs: z.array(z.string()).optional(),
  input: json,
  priority: z.number().optional(),
  dependsOn: z.array(z.string()).optional(),
  resources: resourcesSchema.optional(),
  retry: retrySchema.optional(),
  timeouts: timeoutsSchema.optional(),
  idempotencyKey: z.string().optional(),
  submittedAt: z.number().optional(),
  result: json,
  error: z.string().nullable().optional(),
  progress: json,
  finishedAt: z.number().nullable().optional(),
  history: z.array(attempt).optional(),
});
export type TaskView = z.output<typeof taskView>;

/** `GET /v1/tasks`: a page of tasks, newest first, and the cursor of the next (null on the last). */
export const taskPageView = z.strictObject({ items: z.array(taskView), nextCursor: z.string().nullable() });

export const workflowView = z.looseObject({
  id: z.string(),
  name: z.string(),
  status: z.enum(['running', 'succeeded', 'failed']),
  steps: z.record(z.string(), z.string()),
  tasks: z.array(z.string()),
  reason: z.string().nullable(),
});
export type WorkflowView = z.output<typeof workflowView>;

/** `GET /v1/workflows`: a page of runs by id, and the cursor of the next (null on the last). */
export const workflowPageView = z.strictObject({
  items: z.array(workflowView),
  nextCursor: z.string().nullable(),
});

export const agentView = z.looseObject({
  id: z.string(),
  node: z.string(),
  local: z.boolean(),
  capabilities: z.array(z.string()),
  capacity: z.number(),
  load: z.number(),
  live: z.boolean(),
  retired: z.boolean(),
  metadata: z.record(z.string(), json),
});

export const workerSessionView = z.strictObject({
  workerId: z.string(),
  agentId: z.string(),
  capabilities: z.array(z.string()),
  capacity: z.number(),
  leaseMs: z.number(),
  heartbeatMs: z.number(),
  maxWaitMs: z.number(),
  maxResultBytes: z.number(),
});

export const assignmentView = z.strictObject({
  taskId: z.string(),
  epoch: z.number(),
  attempt: z.number(),
  idempotencyKey: z.string(),
  type: z.string(),
  input: json,
  needs: z.array(z.string()),
  priority: z.number(),
  submittedAt: z.number(),
  startedAt: z.number(),
  timeouts: timeoutsSchema,
  deadline: z.number().nullable(),
  workflow: z.strictObject({ run: z.string(), step: z.string(), iteration: z.string() }).nullable(),
  traceparent: z.string().optional().describe("the attempt's W3C trace context, when the node traces"),
  tracestate: z.string().optional(),
});

export const reportView = z.strictObject({
  taskId: z.string(),
  epoch: z.number(),
  outcome: z.enum(['running', 'succeeded', 'failed']),
});

export const heartbeatView = z.strictObject({
  workerId: z.string(),
  leaseMs: z.number(),
  heartbeatMs: z.number(),
  tasks: z.array(z.strictObject({ taskId: z.string(), epoch: z.number() })),
  aborted: z.array(z.strictObject({ taskId: z.string(), epoch: z.number(), reason: z.string() })),
});

/** A shared-memory member as read; the fields besides these depend on its type (the README's table). */
export const memberView = z.looseObject({
  document: z.string(),
  member: z.string(),
  type: z.enum(MEMBER_TYPES),
  createdAt: z.number(),
  createdBy: z.string(),
  conflicts: z.array(z.looseObject({ type: z.enum(MEMBER_TYPES) })),
});
