export { createCoordinator } from './coordinator/create-coordinator.ts';
export { PermanentTaskError } from './coordinator/api.ts';
export type {
  AgentRegistration,
  AgentView,
  Coordinator,
  CoordinatorOptions,
  TaskContext,
  TaskHandler,
  TaskView,
} from './coordinator/api.ts';
export { systemClock, type Clock } from './clock.ts';
export { defaultSettle, type SettleOptions } from './delay.ts';
export { CoordinatorError, type CoordinatorErrorCode } from './errors.ts';
export type { CoordinatorEvent, CoordinatorEvents } from './events.ts';
export {
  createMemoryStore,
  type MemoryStore,
  type MemoryStoreEvents,
  type StoreDelta,
} from './memory-store.ts';
export type * from './model.ts';
export { checkData, dataLimits } from './model.ts';
export type { ResourceNeeds, ResourcePools } from './resources.ts';
export { createDocumentPools, type DocumentPools } from './document-pools.ts';
export { createDocumentHistory, type AgentHistory } from './history.ts';
export {
  assessHealth,
  defaultHealth,
  type AgentHealth,
  type HealthOptions,
  type HealthSample,
} from './health.ts';
export { defaultRetention, type RetentionOptions } from './retention.ts';
export { defaultRetry, type BackoffPolicy, type RetryPolicy } from './retry.ts';
export {
  backoffSchema,
  nameSchema,
  resourcesSchema,
  retrySchema,
  taskIdPattern,
  taskIdSchema,
  taskInputSchema,
  timeoutsSchema,
  type TaskInput,
} from './task-schema.ts';
export { deriveTask, terminalStatuses, type DerivedTask, type TaskStatus } from './status.ts';
export type {
  CoordinationStore,
  RecordChange,
  RecordKind,
  RecordWrite,
  StoreChanges,
  StoreEvents,
  StoredValue,
} from './store.ts';
export { MAX_RUN_TASKS, type StepState } from './workflow/plan.ts';
export {
  parseTemplate,
  type StepTemplate,
  type Template,
  type WorkflowTemplate,
} from './workflow/template.ts';
export type { AgentStats } from './scoring.ts';
export type { WorkflowView, Workflows } from './workflows.ts';
export { createDocumentStore } from './document-store.ts';
