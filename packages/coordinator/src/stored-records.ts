import type { Value } from '@meshwork/core';
import type { TaskSpec } from './model.ts';
import { defaultRetry, type RetryPolicy } from './retry.ts';

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
  if (!sameRetry(spec.retry, defaultRetry))
    out['retry'] = { maxAttempts: spec.retry.maxAttempts, backoff: { ...spec.retry.backoff } };
  if (spec.timeouts.scheduleToStartMs !== null || spec.timeouts.runMs !== null)
    out['timeouts'] = { ...spec.timeouts };
  if (spec.idempotencyKey !== spec.id) out['idempotencyKey'] = spec.idempotencyKey;
  if (spec.workflow !== null) out['workflow'] = { ...spec.workflow };
  return out;
}

function sameRetry(a: RetryPolicy, b: RetryPolicy): boolean {
  const x = a.backoff;
  const y = b.backoff;
  return (
    a.maxAttempts === b.maxAttempts &&
    x.initialMs === y.initialMs &&
    x.factor === y.factor &&
    x.maxMs === y.maxMs &&
    x.jitter === y.jitter
  );
}

/** Fields of a task's records that the record key ("task|epoch|agent") already holds. */
const keyFields: { readonly [kind: string]: readonly ('task' | 'epoch' | 'agent')[] } = {
  claim: ['task', 'epoch', 'agent'],
  start: ['task', 'epoch', 'agent'],
  end: ['task', 'epoch', 'agent'],
  lease: ['task', 'epoch'],
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

/**
 * A record as stored: without the fields its key holds and without the field naming its
 * writer (see loadRecord). A node id is 52 characters; claims, starts and ends would
 * otherwise carry one each.
 */
export function storedRecord(kind: string, value: Value): Value {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array)
    return value;
  const fields = keyFields[kind];
  const writer = writerField[kind];
  if (fields === undefined && writer === undefined) return value;
  const out = { ...(value as { [key: string]: Value }) };
  for (const f of fields ?? []) delete out[f];
  if (writer !== undefined) delete out[writer];
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
  const out: { [key: string]: Value } = { ...(value as { [key: string]: Value }) };
  if (writerKey !== undefined) {
    if (writer === undefined) return null;
    out[writerKey] = writer;
  }
  if (fields === undefined) return out;
  const parts = key.split('|');
  if (parts.length !== fields.length) return null;
  out['task'] = parts[0]!;
  if (fields.length > 1) {
    const epoch = Number(parts[1]);
    if (!Number.isSafeInteger(epoch) || epoch < 1) return null;
    out['epoch'] = epoch;
  }
  if (fields.length > 2) out['agent'] = parts[2]!;
  return out;
}
