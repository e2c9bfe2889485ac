// The public API: what a program embedding a node, or talking to one, needs. The pieces the
// daemon is built from (the store, the HTTP server and its request schemas, the executors, the
// services' factories) are in `./internal.ts`.
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
export { EventLogError } from './persistence.ts';
export { joinMesh, type JoinMeshOptions, type MeshMember } from './join-mesh.ts';
export { ClientError, createClient, readDaemonInfo, type DaemonInfo, type NodeClient } from './client.ts';
export type {
  ExecutionContext,
  ExecutorKind,
  HttpInput,
  ModuleHandler,
  ModuleInput,
  ShellInput,
} from './executors/index.ts';
export {
  MEMBER_TYPES,
  MemoryError,
  type DocumentPage,
  type DocumentSummary,
  type JsonObject,
  type MemberPage,
  type MemberReadQuery,
  type MemberSummary,
  type MemberType,
  type MemberView,
  type MemoryChange,
  type MemoryErrorCode,
  type MemoryOperation,
  type MemoryPageQuery,
  type SharedMemory,
  type SharedMemoryEvents,
} from './memory/index.ts';
export {
  WORKER_CAPABILITY,
  type AbortedAttempt,
  type HeartbeatAnswer,
  type ReportAnswer,
  type TaskAssignment,
  type WorkerInfo,
  type WorkerRegistration,
  type WorkerService,
  type WorkerSession,
} from './workers/protocol.ts';
export { WorkerError, type WorkerErrorCode } from './workers/errors.ts';
export { signWebhook, verifyWebhook, WEBHOOK_HEADERS } from './webhooks/signature.ts';
