import type { ReplicaId, Value } from '@meshwork/core';
import type { AgentId, TaskId, TaskSpec } from './model.ts';
import { defaultRetry, type RetryPolicy } from './retry.ts';
import type { RecordWrite } from './store.ts';

/*
 * The stored form of the coordinator's records: what a record leaves out because its key, its
 * writer or a default already says it, and how it is read back whole.
 */

/**
 * A task as stored in shared state: the spec without the fields that hold their defaults
 * (readTaskSpec fills them in again), so a plain task's record is a few dozen bytes, not hundreds.
 */
export function taskRecord(spec: TaskSpec): Value {
  const out: { [key: string]: Value } = {
    id: spec.id,
    type: spec.type,
    submittedAt: spec.submittedAt,
    submittedBy: spec.submittedBy,
  };
  if (spec.needs.length !== 1 || spec.needs[0] !== spec.type) out['needs'] = [...spec.needs];
  if (spec.input !== null) out['input'] = spec.input;
  if (spec.priority !== 0) out['priority'] = spec.priority;
  if (spec.dependsOn.length > 0) out['dependsOn'] = [...spec.dependsOn];
  if (Object.keys(spec.resources).length > 0) out['resources'] = { ...spec.resources };
  const retry = retryRecord(spec.retry);
  if (retry !== null) out['retry'] = retry;
  if (spec.timeouts.scheduleToStartMs !== null || spec.timeouts.runMs !== null)
    out['timeouts'] = { ...spec.timeouts };
  if (spec.idempotencyKey !== spec.id) out['idempotencyKey'] = spec.idempotencyKey;
  if (spec.workflow !== null) out['workflow'] = { ...spec.workflow };
  if (spec.trace !== undefined) out['trace'] = { ...spec.trace };
  return out;
}

/** The parts of a retry policy that differ from the default; null when none does. */
function retryRecord(retry: RetryPolicy): { [key: string]: Value } | null {
  const out: { [key: string]: Value } = {};
  if (retry.maxAttempts !== defaultRetry.maxAttempts) out['maxAttempts'] = retry.maxAttempts;
  const backoff: { [key: string]: Value } = {};
  for (const k of ['initialMs', 'factor', 'maxMs', 'jitter'] as const)
    if (retry.backoff[k] !== defaultRetry.backoff[k]) backoff[k] = retry.backoff[k];
  if (Object.keys(backoff).length > 0) out['backoff'] = backoff;
  return Object.keys(out).length > 0 ? out : null;
}

/** The key of an epoch's lease and expiry. */
export const attemptKey = (task: TaskId, epoch: number): string => `${task}|${epoch}`;

/** One agent's part in an epoch: the key of its claim, start and end records. */
export const agentAttemptKey = (task: TaskId, epoch: number, agent: AgentId): string =>
  `${attemptKey(task, epoch)}|${agent}`;

/** The record declaring an epoch lost, so the task can move on to another attempt. */
export const expiryRecord = (task: TaskId, epoch: number, at: number, by: ReplicaId): RecordWrite => ({
  kind: 'expiry',
  key: attemptKey(task, epoch),
  value: { task, epoch, at, by },
});

/** Fields of a record that its key ("task|epoch|agent", or a task's id) already holds. */
const keyFields: { readonly [kind: string]: readonly ('id' | 'task' | 'epoch' | 'agent')[] } = {
  task: ['id'],
  claim: ['task', 'epoch', 'agent'],
  start: ['task', 'epoch', 'agent'],
  end: ['task', 'epoch', 'agent'],
  lease: ['task', 'epoch', 'agent'],
  expiry: ['task', 'epoch'],
  cancel: ['task'],
  timeout: ['task'],
  progress: ['task'],
};

/** The field of a record that names the replica that wrote it: its writer, known from the write itself. */
const writerField: { readonly [kind: string]: string } = {
  task: 'submittedBy',
  claim: 'node',
  start: 'node',
  end: 'node',
  lease: 'node',
  expiry: 'by',
  cancel: 'by',
  timeout: 'by',
};

/** Fields a record leaves out when they hold these values (an end's result and error of a success). */
const defaults: { readonly [kind: string]: { readonly [field: string]: Value } } = {
  end: { result: null, error: null, retryable: true },
};

/**
 * A record as stored: without the fields its key holds, without the field naming its
 * writer (see loadRecord), and without fields at their defaults. A node id is 52 characters;
 * claims, starts and ends would otherwise carry one each.
 */
export function storedRecord(kind: string, value: Value): Value {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array)
    return value;
  const fields = keyFields[kind];
  const writer = writerField[kind];
  if (fields === undefined && writer === undefined) return value;
  const left = defaults[kind] ?? {};
  // Built field by field rather than copied and pruned: deleting properties puts V8 objects into
  // their slow dictionary form, and every write encodes one of these.
  const out: { [key: string]: Value } = {};
  for (const [f, v] of Object.entries(value)) {
    if (f === writer || (fields as readonly string[] | undefined)?.includes(f)) continue;
    if (Object.hasOwn(left, f) && left[f] === v) continue;
    out[f] = v;
  }
  return out;
}

/**
 * A stored record with the fields its key holds put back, taken from the key, and the field
 * naming its writer taken from the write (never from the value, so a record cannot claim
 * another task, epoch or node than its key and its writer). Null when the key is not of its
 * kind's shape or the writer is unknown.
 */
export function loadRecord(
  kind: string,
  key: string,
  value: Value,
  writer: string | undefined,
): Value | null {
  const fields = keyFields[kind];
  const writerKey = writerField[kind];
  if (fields === undefined && writerKey === undefined) return value;
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array)
    return null;
  // Copied field by field into a fresh literal, which measured cheaper than spreading the decoded
  // (null-prototype) object. A "__proto__" field is dropped: assigned, it would set the prototype.
  const out: { [key: string]: Value } = {};
  const d = defaults[kind];
  if (d !== undefined) for (const f in d) out[f] = d[f]!;
  const v = value as { readonly [key: string]: Value };
  for (const f in v) if (f !== '__proto__') out[f] = v[f]!;
  if (writerKey !== undefined) {
    if (writer === undefined) return null;
    out[writerKey] = writer;
  }
  if (fields === undefined) return out;
  const parts = key.split('|');
  if (parts.length !== fields.length) return null;
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i]!;
    if (field !== 'epoch') out[field] = parts[i]!;
    else {
      const epoch = Number(parts[i]);
      if (!Number.isSafeInteger(epoch) || epoch < 1) return null;
      out[field] = epoch;
    }
  }
  return out;
}
