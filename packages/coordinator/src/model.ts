import type { ReplicaId, Value } from '@meshwork/core';
import { defaultDecodeLimits, InvalidArgumentError, validateValue, type DecodeLimits } from '@meshwork/core';
import type { z } from 'zod';
import { CoordinatorError, invalid } from './errors.ts';
import { defaultRetry, type RetryPolicy } from './retry.ts';
import {
  invalidFrom,
  nameSchema,
  taskIdSchema,
  taskInputSchema,
  type ReadonlyFields,
  type TaskInput,
} from './task-schema.ts';
import { readTaskRecord } from './task-record.ts';
import { readTraceContext, type TraceContext } from './trace-context.ts';

export type { TraceContext } from './trace-context.ts';

export type TaskId = string;
export type AgentId = string;

/** Position of a task inside a workflow run; its id is a hash of these three. */
export interface WorkflowRef {
  readonly run: string;
  readonly step: string;
  readonly iteration: string;
}

/** A submitted task. Written once; everything that happens to it is recorded beside it. */
export interface TaskSpec {
  readonly id: TaskId;
  readonly type: string;
  readonly needs: readonly string[];
  readonly input: Value;
  readonly priority: number;
  readonly dependsOn: readonly TaskId[];
  readonly resources: { readonly [pool: string]: number };
  readonly retry: RetryPolicy;
  readonly timeouts: { readonly scheduleToStartMs: number | null; readonly runMs: number | null };
  readonly idempotencyKey: string;
  readonly submittedAt: number;
  readonly submittedBy: ReplicaId;
  readonly workflow: WorkflowRef | null;
  /**
   * The trace context of the span that submitted the task, when it was submitted with tracing on:
   * the spans of its claims and attempts on every node join that trace.
   */
  readonly trace?: TraceContext;
}

/** An agent as the whole mesh sees it. */
export interface AgentInfo {
  readonly id: AgentId;
  readonly node: ReplicaId;
  readonly capabilities: readonly string[];
  readonly capacity: number;
  readonly metadata: { readonly [key: string]: Value };
  readonly registeredAt: number;
  /** Set when the agent was unregistered or its node stopped cleanly. */
  readonly retired: boolean;
}

/** "Agent would like to run task at epoch": the input of winner selection. */
export interface Claim {
  readonly task: TaskId;
  readonly epoch: number;
  readonly agent: AgentId;
  readonly node: ReplicaId;
  /** Claimer's clock when claiming. */
  readonly at: number;
  readonly score: number;
  /** The claimer's settle window; the epoch's window is the one of its earliest claim. */
  readonly settleMs: number;
  /**
   * Made by a node stepping in after holding back, rather than at once by one of the task's
   * leaders: such a claim wins only when no claim made at once is among the epoch's.
   */
  readonly stepIn?: boolean;
}

/** Held by the epoch's winner while it runs; renewed, so others can see it is still alive. */
export interface Lease {
  readonly task: TaskId;
  readonly epoch: number;
  readonly agent: AgentId;
  readonly node: ReplicaId;
  readonly until: number;
  /** When the holder wrote it, by its clock; absent from leases of older versions. */
  readonly at?: number;
}

export type AttemptOutcome = 'succeeded' | 'failed' | 'timed-out' | 'cancelled' | 'fenced';

/** One run of a handler. `start` is written when it begins, `end` when it finishes. */
export interface AttemptStart {
  readonly task: TaskId;
  readonly epoch: number;
  readonly agent: AgentId;
  readonly node: ReplicaId;
  readonly startedAt: number;
  /** The attempt's first lease, written with the start (one record instead of two); renewals are Lease records. */
  readonly until?: number;
}

export interface AttemptEnd {
  readonly task: TaskId;
  readonly epoch: number;
  readonly agent: AgentId;
  readonly node: ReplicaId;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly outcome: AttemptOutcome;
  readonly result: Value;
  readonly error: string | null;
  /** False for errors the handler marks as permanent: no further attempt. */
  readonly retryable: boolean;
}

/** One row of task history: an attempt, running (`endedAt` null) or ended. */
export interface AttemptRow {
  readonly task: TaskId;
  readonly attempt: number;
  readonly epoch: number;
  readonly agent: AgentId;
  readonly node: ReplicaId;
  readonly startedAt: number;
  readonly endedAt: number | null;
  readonly outcome: AttemptOutcome | 'running';
  readonly error: string | null;
}

/** Written by any replica that saw an epoch's winner go silent (lease expired or node suspected). */
export interface EpochExpiry {
  readonly task: TaskId;
  readonly epoch: number;
  readonly at: number;
  readonly by: ReplicaId;
}

export interface Cancellation {
  readonly task: TaskId;
  readonly at: number;
  readonly by: ReplicaId;
  readonly reason: string;
}

/** Schedule-to-start deadline passed with no attempt started. */
export interface StartTimeout {
  readonly task: TaskId;
  readonly at: number;
  readonly by: ReplicaId;
}

export interface Progress {
  readonly task: TaskId;
  readonly epoch: number;
  readonly agent: AgentId;
  readonly at: number;
  readonly data: Value;
}

/** Everything recorded about one task: the input of every derived query. */
export interface TaskRecords {
  readonly spec: TaskSpec;
  readonly claims: readonly Claim[];
  readonly leases: readonly Lease[];
  readonly starts: readonly AttemptStart[];
  readonly ends: readonly AttemptEnd[];
  readonly expiries: readonly EpochExpiry[];
  readonly cancel: Cancellation | null;
  readonly startTimeout: StartTimeout | null;
  readonly progress: Progress | null;
}

/** What submit() takes: see taskInputSchema in task-schema.ts. */
export type SubmitInput = TaskInput;

/** Levels a record puts above the data it carries (the record object), with headroom. */
const RECORD_DEPTH = 4;

/**
 * Limits of the data a task carries (input, result, progress, agent metadata, workflow params):
 * the Document's, less the levels of the record around it.
 */
export const dataLimits: Required<DecodeLimits> = Object.freeze({
  ...defaultDecodeLimits,
  maxValueDepth: defaultDecodeLimits.maxValueDepth - RECORD_DEPTH,
});

/**
 * Asserts that `v` is plain data (JSON values and byte arrays) within the shared state's limits,
 * so every replica, and this node's own restart, reads it back: a typed error names the field.
 */
export function checkData(field: string, v: unknown): asserts v is Value {
  try {
    validateValue(v, dataLimits);
  } catch (e) {
    // The core error stays as the cause: a caller can tell a limit (LimitExceededError) from bad data.
    if (e instanceof InvalidArgumentError) throw invalid(field, e.message, { cause: e });
    throw e;
  }
}

/** A name (task type, capability, pool, agent, step), by nameSchema's rule. */
export function checkName(field: string, v: unknown): string {
  const parsed = nameSchema.safeParse(v);
  if (!parsed.success) throw invalidFrom(parsed.error, field);
  return parsed.data;
}

/** A task's or workflow run's id, by the rule every entry point shares (taskIdPattern). */
export function checkTaskId(field: string, v: unknown): string {
  const parsed = taskIdSchema.safeParse(v);
  if (!parsed.success) throw invalidFrom(parsed.error, field);
  return parsed.data;
}

/*
 * Shared, frozen values for a task's absent fields: every replica reads every task it hears of,
 * and most tasks leave these out.
 */
const noNames: readonly string[] = Object.freeze([]);
const noResources: { readonly [pool: string]: number } = Object.freeze({});
const noTimeouts: TaskSpec['timeouts'] = Object.freeze({ scheduleToStartMs: null, runMs: null });

/** Names as a set: one order however they were given, so equal tasks compare equal. */
function nameSet(names: readonly string[]): readonly string[] {
  if (names.length === 0) return noNames;
  return names.length === 1 ? [names[0]!] : [...new Set(names)].sort();
}

/** A parsed submission as the task it describes: defaults filled, names as sets, limits checked. */
function specOf(
  t: ReadonlyFields<z.output<typeof taskInputSchema>>,
  context: { now: number; replica: ReplicaId; randomId: () => string; workflow?: WorkflowRef; id?: TaskId },
): TaskSpec {
  const value = t.input ?? null;
  checkData('input', value);
  const id = context.id ?? t.id ?? context.randomId();
  const dependsOn = nameSet(t.dependsOn);
  if (dependsOn.includes(id))
    throw new CoordinatorError('invalid_input', 'a task cannot depend on itself', 'dependsOn');
  return {
    id,
    type: t.type,
    needs: nameSet(t.needs ?? [t.type]),
    input: value,
    priority: t.priority,
    dependsOn,
    resources: t.resources ?? noResources,
    retry: t.retry ?? defaultRetry,
    timeouts: t.timeouts ?? noTimeouts,
    idempotencyKey: t.idempotencyKey ?? id,
    submittedAt: context.now,
    submittedBy: context.replica,
    workflow: context.workflow ?? null,
  };
}

/**
 * Validates a submission against taskInputSchema and fills defaults. The id is the context's
 * (a workflow's task), or the caller's, or random. A typed error names the field at fault.
 */
export function parseSubmit(
  input: SubmitInput,
  context: { now: number; replica: ReplicaId; randomId: () => string; workflow?: WorkflowRef; id?: TaskId },
): TaskSpec {
  if (typeof input !== 'object' || input === null) throw invalid('task', 'must be an object');
  const parsed = taskInputSchema.safeParse(input);
  if (!parsed.success) throw invalidFrom(parsed.error, 'task');
  return specOf(parsed.data, context);
}

/**
 * A task record from shared state, checked like a submission (another replica may run other
 * code, or be faulty). Returns null when it is not a well-formed task.
 */
export function readTaskSpec(v: unknown): TaskSpec | null {
  const r = readTaskRecord(v);
  if (r === null) return null;
  try {
    const spec = specOf(r, {
      now: r.submittedAt,
      replica: r.submittedBy,
      randomId: () => r.id,
      id: r.id,
      ...(r.workflow != null && { workflow: r.workflow }),
    });
    // A malformed trace context is dropped, not the task: tracing is never worth losing work for.
    const trace = r.trace === undefined ? undefined : readTraceContext(r.trace);
    return trace === undefined ? spec : { ...spec, trace };
  } catch (e) {
    if (e instanceof CoordinatorError) return null;
    throw e;
  }
}

/** An agent record from shared state, or null when it is not well-formed. */
export function readAgentInfo(v: unknown): AgentInfo | null {
  if (typeof v !== 'object' || v === null) return null;
  const a = v as { [k in keyof AgentInfo]?: unknown };
  const ok =
    typeof a.id === 'string' &&
    typeof a.node === 'string' &&
    Array.isArray(a.capabilities) &&
    a.capabilities.every((c) => typeof c === 'string') &&
    typeof a.capacity === 'number' &&
    Number.isFinite(a.capacity) &&
    typeof a.registeredAt === 'number' &&
    typeof a.retired === 'boolean' &&
    typeof a.metadata === 'object' &&
    a.metadata !== null;
  return ok ? (v as AgentInfo) : null;
}
