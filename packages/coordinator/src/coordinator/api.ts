import {
  MeshworkError,
  type Document,
  type Observable,
  type PresenceChannel,
  type ReplicaId,
  type Value,
} from '@meshwork/core';
import type { TracerProvider } from '@opentelemetry/api';
import type { Clock } from '../clock.ts';
import type { SettleOptions } from '../delay.ts';
import type { CoordinatorEvents } from '../events.ts';
import type { AgentHistory } from '../history.ts';
import type { AgentId, AgentInfo, AttemptRow, SubmitInput, TaskId } from '../model.ts';
import type { ResourcePools } from '../resources.ts';
import type { RetentionOptions } from '../retention.ts';
import type { AgentStats } from '../scoring.ts';
import type { TaskStatus } from '../status.ts';
import type { CoordinationStore } from '../store.ts';
import type { Workflows } from '../workflows.ts';
import type { TaskView } from './task-view.ts';

/* The coordinator's public interface: what createCoordinator takes and returns. */

/** What a handler gets besides the task. */
export interface TaskContext {
  readonly input: Value;
  /** Aborted on cancellation, run timeout, fencing (a newer epoch took over) and shutdown. */
  readonly signal: AbortSignal;
  /** Streams progress into the task (last value wins); each call is an event on the attempt's span. */
  progress(data: Value): void;
  /** Fencing token: a sink that remembers the highest epoch per task can reject stale attempts. */
  readonly epoch: number;
  /** Stable across attempts of one task: lets a sink apply the effect once. */
  readonly idempotencyKey: string;
  readonly attempt: number;
  /**
   * Hands the attempt back, for a handler that learns it cannot finish (the process that was
   * doing the work is gone): the epoch is recorded as lost at once, so the next one may be
   * claimed without waiting for the lease or a backoff, and the signal aborts. The lost epoch
   * counts as one of the task's attempts. What the handler returns afterwards is treated as a
   * late result of a lost epoch: a failure is ignored, a success only stands if no later attempt
   * has started.
   */
  release(): void;
}

export type TaskHandler = (task: TaskView, ctx: TaskContext) => Promise<Value | void> | Value | void;

export interface AgentRegistration {
  readonly id: string;
  readonly capabilities: readonly string[];
  /** Tasks the agent runs at once. */
  readonly capacity?: number;
  readonly metadata?: { readonly [key: string]: Value };
  readonly handler: TaskHandler;
}

/** Thrown by a handler for a failure that retrying cannot fix: the task fails at once. */
export class PermanentTaskError extends MeshworkError {
  override readonly name = 'PermanentTaskError';
  constructor(message: string, options?: ErrorOptions) {
    super('permanent_failure', message, { cause: options?.cause });
  }
}

export type { TaskView } from './task-view.ts';

export interface AgentView extends AgentInfo {
  readonly alive: boolean;
  readonly load: number;
  readonly stats: AgentStats;
}

export interface CoordinatorOptions {
  /**
   * The shared Document, synced by whatever transport the caller uses. Tasks live in it as
   * records (see createDocumentStore), resource pools as BoundedCounters, agent history in
   * a TimeSeries. Give either `document` or `store`.
   */
  readonly document?: Document;
  /** Shared state other than a Document (e.g. createMemoryStore for one process). */
  readonly store?: CoordinationStore;
  readonly presence: PresenceChannel;
  readonly clock?: Clock;
  readonly settle?: Partial<SettleOptions>;
  /** Lease length and the grace other replicas add before treating it as expired (clock skew). */
  readonly lease?: { readonly durationMs?: number; readonly graceMs?: number };
  /** How often this node re-announces what its agents want of resource pools. */
  readonly heartbeatMs?: number;
  /** Waiting this long adds one point of priority. */
  readonly agingMs?: number;
  /** Least time between two scheduling passes (claims, starts, expiry checks). Default 10 ms. */
  readonly tickMs?: number;
  /** Default: BoundedCounter pools in `document`, or none. */
  readonly resources?: ResourcePools;
  /** Default: a TimeSeries in `document`, or the recorded attempts. */
  readonly history?: AgentHistory;
  /** When finished tasks are removed from the shared state (see the README's "Retention"). */
  readonly retention?: Partial<RetentionOptions>;
  /**
   * Settles once this replica has caught up with the peers it can reach (on a mesh node:
   * `mesh.catchUp()`). Until then the coordinator claims nothing and declares no attempt lost
   * or timed out, since its state may be a restored one that misses what others did meanwhile:
   * acting on it would start finished tasks again or give two attempts one epoch. A rejection
   * counts as settled. Default: caught up from the start.
   */
  readonly catchUp?: PromiseLike<unknown>;
  /**
   * Where this replica's task spans go (see the README's "Tracing"). Default: the global one of
   * `@opentelemetry/api`, which records nothing until an SDK is registered.
   */
  readonly tracerProvider?: TracerProvider;
}

export interface Coordinator {
  readonly replica: ReplicaId;
  /** What happens to tasks on this replica, for metrics, history and live views (see CoordinatorEvents). */
  readonly events: Observable<CoordinatorEvents>;
  readonly workflows: Workflows;
  readonly pools: ResourcePools;
  /** False until `options.catchUp` settles: no claims, expiries or timeouts are written before. */
  readonly caughtUp: boolean;
  registerAgent(registration: AgentRegistration): { readonly id: AgentId; unregister(): void };
  submit(task: SubmitInput): TaskId;
  get(id: TaskId): TaskView | null;
  list(filter?: { readonly status?: TaskStatus; readonly type?: string }): TaskView[];
  /** How many tasks this replica knows in each status: `list()`'s counts, without building its views. */
  counts(): Record<TaskStatus, number>;
  /**
   * Calls `listener` whenever a task's status, holder or progress changes here (of `filter.task`
   * only, if given); returns the unsubscribe function. A thin adapter over the `task` event.
   */
  watch(listener: (task: TaskView) => void, filter?: { readonly task?: TaskId }): () => void;
  cancel(id: TaskId, reason?: string): void;
  attempts(id: TaskId): AttemptRow[];
  agents(): AgentView[];
  /** The current settle window, from measured delivery delay. */
  settleMs(): number;
  /**
   * Stops claiming, waits up to `drainMs` for running attempts, then aborts the rest and releases their
   * leases. Later calls return the first call's promise (their `drainMs` is ignored).
   */
  stop(options?: { readonly drainMs?: number }): Promise<void>;
}
