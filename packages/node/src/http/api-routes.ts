import type { Observable } from '@meshwork/core';
import { z } from 'zod';
import {
  listTasksQuery,
  listWorkflowsQuery,
  startWorkflowBody,
  submitTaskBody,
  type ListTasksQuery,
  type ListWorkflowsQuery,
  type StartWorkflowBody,
  type SubmitTaskBody,
} from '../api-schema.ts';
import {
  agentView,
  memberView,
  taskPageView,
  taskView,
  workflowPageView,
  workflowView,
} from '../mcp/views.ts';
import {
  createDocumentBody,
  memberReadQuery,
  memoryOperation,
  memoryPageQuery,
  registerBody,
  type MemberReadQuery,
  type MemoryOperation,
  type MemoryPageQuery,
} from '../memory/memory-schema.ts';
import type { LiveEvents } from './event-stream.ts';
import { ApiError, type Json, type RouteDefinition } from './route.ts';
import { parseQuery } from './validation.ts';

/** Shared memory under `/v1/memory`; the daemon implements it with memory/memory-api.ts. */
export interface MemoryApi {
  listDocuments(query: MemoryPageQuery): Json;
  createDocument(document: string): { created: boolean; document: Json };
  getDocument(document: string, query: MemoryPageQuery): Json;
  getMember(document: string, member: string, query: MemberReadQuery): Json;
  writeMember(document: string, member: string, operation: MemoryOperation): Json;
}

/** What the HTTP API serves; the daemon implements it over the mesh and coordinator. */
export interface NodeApi {
  status(): Json;
  /** True once state is restored, the node has caught up with its peers and is not draining. */
  ready(): boolean;
  peers(): Json;
  agents(): Json;
  /** A page of tasks, newest first: `{ items, nextCursor }`. */
  listTasks(query: ListTasksQuery): Json;
  /** `undefined` when no such task. */
  getTask(id: string): Json | undefined;
  taskHistory(id: string): Json;
  submitTask(body: SubmitTaskBody): Json | Promise<Json>;
  /** `undefined` when no such task. */
  cancelTask(id: string): Json | undefined;
  /** A page of workflow runs by id: `{ items, nextCursor }`. */
  listWorkflows(query: ListWorkflowsQuery): Json;
  workflowTemplates(): Json;
  getWorkflow(id: string): Json | undefined;
  startWorkflow(body: StartWorkflowBody): Json | Promise<Json>;
  /** What `GET /v1/events` streams. */
  readonly live: Observable<LiveEvents>;
  metrics(): Promise<{ contentType: string; body: string }>;
  memory: MemoryApi;
}

const documentPage = z.looseObject({ next: z.string().nullable() });
const attempts = z.array(z.looseObject({ epoch: z.number(), agent: z.string() }));

/** The value, or a 404 with `message` when there is none. */
function orNotFound<T>(value: T | undefined, message: string): T {
  if (value === undefined) throw new ApiError(404, 'not_found', message);
  return value;
}

/** The routes of the node's own API (besides the pull-worker, MCP and admin routes the daemon adds). */
export function apiRoutes(api: NodeApi): RouteDefinition[] {
  return [
    {
      method: 'GET',
      path: '/healthz',
      access: 'open',
      doc: { summary: 'Liveness probe', response: z.strictObject({ ok: z.literal(true) }) },
      handler: () => [200, { ok: true }],
    },
    {
      method: 'GET',
      path: '/readyz',
      access: 'open',
      doc: {
        summary: 'Readiness: state restored, caught up with peers, not draining (503 otherwise)',
        response: z.strictObject({ ready: z.boolean() }),
        errors: [503],
      },
      handler: () => (api.ready() ? [200, { ready: true }] : [503, { ready: false }]),
    },
    {
      method: 'GET',
      path: '/metrics',
      access: 'open',
      doc: { summary: 'Prometheus metrics', mediaType: 'text/plain' },
      handler: ({ res }) => {
        void api.metrics().then(
          ({ contentType, body }) => res.writeHead(200, { 'content-type': contentType }).end(body),
          (err: unknown) => res.writeHead(500).end(String(err)),
        );
        return 'stream';
      },
    },
    {
      method: 'GET',
      path: '/v1/status',
      doc: { summary: 'This node: peers, agents, task counts, pools, store' },
      handler: () => [200, api.status()],
    },
    {
      method: 'GET',
      path: '/v1/peers',
      doc: { summary: 'Connected peers and their addresses' },
      handler: () => [200, api.peers()],
    },
    {
      method: 'GET',
      path: '/v1/agents',
      doc: { summary: 'Agents of the mesh', response: z.array(agentView) },
      handler: () => [200, api.agents()],
    },
    {
      method: 'GET',
      path: '/v1/tasks',
      doc: { summary: 'A page of tasks, newest first', query: listTasksQuery, response: taskPageView },
      handler: ({ query }) => [200, api.listTasks(parseQuery(listTasksQuery, query))],
    },
    {
      method: 'POST',
      path: '/v1/tasks',
      doc: {
        summary: 'Submit a task; the same id with the same body again is a no-op',
        body: submitTaskBody,
        response: taskView,
        status: 201,
        errors: [409, 429, 503],
      },
      handler: async ({ body }) => [201, await api.submitTask(await body(submitTaskBody))],
    },
    {
      method: 'GET',
      path: '/v1/tasks/:id',
      doc: { summary: 'A task with its attempts, or its archived record', response: taskView },
      handler: ({ params }) => [200, orNotFound(api.getTask(params[0]!), `no task ${params[0]}`)],
    },
    {
      method: 'GET',
      path: '/v1/tasks/:id/history',
      doc: { summary: "A task's attempts as this node archived them", response: attempts },
      handler: ({ params }) => [200, api.taskHistory(params[0]!)],
    },
    {
      method: 'POST',
      path: '/v1/tasks/:id/cancel',
      doc: { summary: 'Cancel a task', response: taskView, errors: [503] },
      handler: ({ params }) => [200, orNotFound(api.cancelTask(params[0]!), `no task ${params[0]}`)],
    },
    {
      method: 'GET',
      path: '/v1/workflows',
      doc: {
        summary: 'A page of workflow runs, by id',
        query: listWorkflowsQuery,
        response: workflowPageView,
      },
      handler: ({ query }) => [200, api.listWorkflows(parseQuery(listWorkflowsQuery, query))],
    },
    {
      method: 'GET',
      path: '/v1/workflows/templates',
      doc: { summary: "The node's workflow templates" },
      handler: () => [200, api.workflowTemplates()],
    },
    {
      method: 'POST',
      path: '/v1/workflows',
      doc: {
        summary: 'Start a workflow run',
        body: startWorkflowBody,
        response: workflowView,
        status: 201,
        errors: [429, 503],
      },
      handler: async ({ body }) => [201, await api.startWorkflow(await body(startWorkflowBody))],
    },
    {
      method: 'GET',
      path: '/v1/workflows/:id',
      doc: { summary: 'A workflow run', response: workflowView },
      handler: ({ params }) => [200, orNotFound(api.getWorkflow(params[0]!), `no workflow ${params[0]}`)],
    },
    {
      method: 'GET',
      path: '/v1/memory',
      doc: { summary: 'A page of shared-memory documents', query: memoryPageQuery, response: documentPage },
      handler: ({ query }) => [200, api.memory.listDocuments(parseQuery(memoryPageQuery, query))],
    },
    {
      method: 'GET',
      path: '/v1/memory/:doc',
      doc: { summary: "A page of a document's members", query: memoryPageQuery, response: documentPage },
      handler: ({ params, query }) => [
        200,
        api.memory.getDocument(params[0]!, parseQuery(memoryPageQuery, query)),
      ],
    },
    {
      method: 'PUT',
      path: '/v1/memory/:doc',
      doc: { summary: 'Create a document (200 when it exists)', body: createDocumentBody, status: 201 },
      handler: async ({ params, body }) => {
        await body(createDocumentBody);
        const { created, document } = api.memory.createDocument(params[0]!);
        return [created ? 201 : 200, document];
      },
    },
    {
      method: 'GET',
      path: '/v1/memory/:doc/:member',
      doc: { summary: 'Read a member', query: memberReadQuery, response: memberView, errors: [409] },
      handler: ({ params, query }) => [
        200,
        api.memory.getMember(params[0]!, params[1]!, parseQuery(memberReadQuery, query)),
      ],
    },
    {
      method: 'PUT',
      path: '/v1/memory/:doc/:member',
      doc: { summary: 'Set a register member', body: registerBody, errors: [409] },
      handler: async ({ params, body }) => [
        200,
        api.memory.writeMember(params[0]!, params[1]!, { ...(await body(registerBody)), op: 'set' }),
      ],
    },
    {
      method: 'POST',
      path: '/v1/memory/:doc/:member',
      doc: { summary: 'Apply an operation to a member', body: memoryOperation, errors: [409] },
      handler: async ({ params, body }) => [
        200,
        api.memory.writeMember(params[0]!, params[1]!, await body(memoryOperation)),
      ],
    },
  ];
}
