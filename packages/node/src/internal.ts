// The pieces the daemon is built from, shared with Meshwork's own tests, benchmarks and CLI:
// `@meshwork/node/internal`. No compatibility promise: these change with the daemon.
export { openStore } from './store.ts';
export type {
  AttemptRecord,
  NodeStore,
  QuarantinedRecord,
  StoredSnapshot,
  TaskResultRecord,
} from './store.ts';
export { persistDocument, RESTORE_ORIGIN } from './persistence.ts';
export type { DocumentPersistence, PersistableDocument, QuarantinedItem } from './persistence.ts';
export { COORDINATION_DOCUMENT, coordinationDocument } from './mesh-state.ts';
export {
  ApiError,
  startApiServer,
  type ApiServer,
  type Json,
  type LiveEvent,
  type LiveEvents,
  type MemoryApi,
  type NodeApi,
  type RouteDefinition,
} from './http-server.ts';
export {
  submitTaskBody,
  startWorkflowBody,
  taskInput,
  type SubmitTaskBody,
  type StartWorkflowBody,
} from './api-schema.ts';
export { createMetrics, type MetricSources, type NodeMetrics, type TransportStats } from './metrics.ts';
export { resolveTarget, type ClientTarget } from './client.ts';
export { runDemo, type DemoOptions } from './demo.ts';
export {
  execute,
  EXECUTOR_KINDS,
  ExecutorError,
  ExecutorInputError,
  ExecutorNotAllowedError,
  httpInput,
  moduleInput,
  runHttp,
  runModule,
  runShell,
  shellInput,
} from './executors/index.ts';
export {
  createSharedMemory,
  memberReadQuery,
  memoryOperation,
  memoryPageQuery,
  registerBody,
  type MemoryLimits,
  type RegisterBody,
  type SharedMemoryOptions,
} from './memory/index.ts';
export { createWorkerService } from './workers/registry.ts';
export type { WorkerServiceDeps } from './workers/protocol.ts';
export { workerErrorStatus } from './workers/errors.ts';
export { createWorkerMetrics, type WorkerMetrics } from './workers/metrics.ts';
export * from './workers/schema.ts';
export {
  createNodeMcp,
  type McpDeps,
  type McpEndpoint,
  type McpMetrics,
  type McpSession,
} from './mcp/index.ts';
export { openMcpSession } from './mcp/server.ts';
