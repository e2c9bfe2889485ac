export { startDaemon, type Daemon, type DaemonOptions } from './daemon.ts';
export { runDaemon } from './run-daemon.ts';
export { ReloadRefusedError, type ReloadReport } from './reload/reloader.ts';
export type { AgentChanges } from './reload/plan.ts';
export { AddressInUseError } from './address-in-use.ts';
export { ConfigError } from './config-error.ts';
export { configSchema, loadConfig, parseConfig, WEBHOOK_EVENTS } from './config.ts';
export type {
  AgentConfig,
  ConfigFlags,
  NodeConfig,
  ResolvedConfig,
  TelemetryConfig,
  WebhookConfig,
  ConfigEnv,
  WebhookEventType,
  WorkerSettings,
} from './config.ts';
export { openStore } from './store.ts';
export type {
  AttemptRecord,
  NodeStore,
  QuarantinedRecord,
  StoredSnapshot,
  TaskResultRecord,
} from './store.ts';
export { EventLogError, persistDocument, RESTORE_ORIGIN } from './persistence.ts';
export type { DocumentPersistence, PersistableDocument, QuarantinedItem } from './persistence.ts';
export { COORDINATION_DOCUMENT, coordinationDocument } from './mesh-state.ts';
export { joinMesh, type JoinMeshOptions, type MeshMember } from './join-mesh.ts';
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
export {
  ClientError,
  createClient,
  readDaemonInfo,
  resolveTarget,
  type ClientTarget,
  type DaemonInfo,
  type NodeClient,
} from './client.ts';
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
  type ExecutionContext,
  type ExecutorKind,
  type HttpInput,
  type ModuleHandler,
  type ModuleInput,
  type ShellInput,
} from './executors/index.ts';
export * from './memory/index.ts';
export { createWorkerService } from './workers/registry.ts';
export {
  WORKER_CAPABILITY,
  type AbortedAttempt,
  type HeartbeatAnswer,
  type ReportAnswer,
  type TaskAssignment,
  type WorkerInfo,
  type WorkerRegistration,
  type WorkerService,
  type WorkerServiceDeps,
  type WorkerSession,
} from './workers/protocol.ts';
export { WorkerError, workerErrorStatus, type WorkerErrorCode } from './workers/errors.ts';
export { createWorkerMetrics, type WorkerMetrics } from './workers/metrics.ts';
export * from './workers/schema.ts';
export { signWebhook, verifyWebhook, WEBHOOK_HEADERS } from './webhooks/signature.ts';
export {
  createNodeMcp,
  openMcpSession,
  type McpDeps,
  type McpMetrics,
  type McpEndpoint,
  type McpSession,
} from './mcp/index.ts';
