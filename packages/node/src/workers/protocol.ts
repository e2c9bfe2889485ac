import type { Coordinator, TaskSpec, WorkflowRef } from '@meshwork/coordinator';
import type { Value } from '@meshwork/core';
import type { WorkerSettings } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { WorkerMetrics } from './metrics.ts';

/*
 * The pull-worker protocol as the node offers it in-process: what a worker registers, the tasks it
 * is given and the answers to its calls. The HTTP routes (routes.ts) and the MCP server speak it;
 * registry.ts implements it over the coordinator.
 */

/** Added to every worker's capabilities; the API adds it to the needs of a task whose input names no executor. */
export const WORKER_CAPABILITY = 'executor:worker';

export interface WorkerRegistration {
  /** The agent's id, unique in the mesh. */
  readonly id: string;
  readonly capabilities?: readonly string[];
  /** Tasks the worker holds at once (default 1). */
  readonly capacity?: number;
  readonly metadata?: { readonly [key: string]: unknown };
}

/** What a registration answers: the ids and the timing the worker must keep. */
export interface WorkerSession {
  readonly workerId: string;
  readonly agentId: string;
  readonly capabilities: readonly string[];
  readonly capacity: number;
  /** Silence (no call at all) for this long ends the registration and hands its tasks on. */
  readonly leaseMs: number;
  /** How often to heartbeat: a quarter of the lease. */
  readonly heartbeatMs: number;
  readonly maxWaitMs: number;
  readonly maxResultBytes: number;
}

/** One task handed to a worker: one attempt of it, fenced by `epoch`. */
export interface TaskAssignment {
  readonly taskId: string;
  /** Fencing token: every report about this attempt names it. */
  readonly epoch: number;
  /** 1 for the first attempt. */
  readonly attempt: number;
  /** The same for every attempt of the task: lets a sink apply an effect once. */
  readonly idempotencyKey: string;
  readonly type: string;
  readonly input: Value;
  readonly needs: readonly string[];
  readonly priority: number;
  readonly submittedAt: number;
  /** When the attempt started on the daemon (Unix ms, daemon clock). */
  readonly startedAt: number;
  /** The task's timeouts, as submitted. */
  readonly timeouts: TaskSpec['timeouts'];
  /** `startedAt + timeouts.runMs`: the attempt is aborted then. */
  readonly deadline: number | null;
  readonly workflow: WorkflowRef | null;
  /** The attempt's W3C trace context, when tracing is on: the worker's spans join the task's trace. */
  readonly traceparent?: string;
  readonly tracestate?: string;
}

export interface AbortedAttempt {
  readonly taskId: string;
  readonly epoch: number;
  /** Why, in words (`attempt cancelled`, `attempt timed-out`, `attempt fenced`, …). */
  readonly reason: string;
}

export interface HeartbeatAnswer {
  readonly workerId: string;
  readonly leaseMs: number;
  readonly heartbeatMs: number;
  /** The attempts delivered to this worker that it still holds. */
  readonly tasks: readonly { readonly taskId: string; readonly epoch: number }[];
  /** Attempts taken from the worker since its last heartbeat: stop working on them. */
  readonly aborted: readonly AbortedAttempt[];
}

export interface ReportAnswer {
  readonly taskId: string;
  readonly epoch: number;
  readonly outcome: 'running' | 'succeeded' | 'failed';
}

export interface WorkerInfo {
  readonly workerId: string;
  readonly agentId: string;
  readonly capabilities: readonly string[];
  readonly capacity: number;
  readonly registeredAt: number;
  readonly lastSeenAt: number;
  readonly tasks: readonly { readonly taskId: string; readonly epoch: number; readonly delivered: boolean }[];
}

/**
 * The pull protocol without HTTP: what the routes under `/v1/workers` call, and what an
 * embedded front door (an MCP server) may call directly. Every refusal is a {@link WorkerError}
 * and changes nothing.
 */
export interface WorkerService {
  register(registration: WorkerRegistration): WorkerSession;
  /**
   * Up to `max` of the worker's waiting tasks; when none is waiting, waits up to `waitMs`
   * (capped at `workers.maxWaitMs`) for one, or until `signal` aborts. `[]` when none came.
   */
  next(
    workerId: string,
    options?: { readonly waitMs?: number; readonly max?: number },
    signal?: AbortSignal,
  ): Promise<TaskAssignment[]>;
  /** Gives back tasks from `next` that never reached the worker (its connection closed), for its next poll. */
  undelivered(workerId: string, tasks: readonly TaskAssignment[]): void;
  heartbeat(workerId: string): HeartbeatAnswer;
  progress(workerId: string, taskId: string, epoch: number, data: unknown): ReportAnswer;
  complete(workerId: string, taskId: string, epoch: number, result: unknown): ReportAnswer;
  fail(
    workerId: string,
    taskId: string,
    epoch: number,
    failure: { readonly message: string; readonly retryable: boolean },
  ): ReportAnswer;
  /** Ends the registration; the tasks it holds go to other agents at once. */
  unregister(workerId: string): { readonly workerId: string; readonly released: readonly string[] };
  /** Renews the lease of a registered worker; a no-op for any other id. */
  seen(workerId: string): void;
  list(): WorkerInfo[];
  /** Whether `agentId` belongs to a registered worker. */
  hasAgent(agentId: string): boolean;
  /** Ends open polls and lease timers; later calls are refused with `stopping`. */
  stop(): void;
}

export interface WorkerServiceDeps {
  readonly coordinator: Coordinator;
  readonly nodeName: string;
  readonly settings: WorkerSettings;
  readonly logger: Logger;
  readonly metrics: WorkerMetrics;
  readonly now?: () => number;
}
