import type { z } from 'zod';
import { defaultRetry, type BackoffPolicy, type RetryPolicy } from './retry.ts';
import {
  namePattern,
  taskBounds,
  taskIdPattern,
  type ReadonlyFields,
  type taskRecordSchema,
} from './task-schema.ts';

/*
 * Every replica reads every task record it hears of, so stored records are read by this
 * structural check rather than parsed with taskRecordSchema (that parse alone measured about
 * twice the whole read). It takes its patterns and bounds from task-schema.ts and returns what
 * the schema's parse returns; a property test holds the two to the same verdict on any record.
 */

/** A stored task as taskRecordSchema parses it. */
export type TaskRecord = ReadonlyFields<z.output<typeof taskRecordSchema>>;

type Fields = { readonly [key: string]: unknown };

const isObject = (v: unknown): v is Fields => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const inBounds = (v: unknown, b: { readonly min: number; readonly max: number }): v is number =>
  isNumber(v) && v >= b.min && v <= b.max;
const isName = (v: unknown): v is string => typeof v === 'string' && namePattern.test(v);
const isTaskId = (v: unknown): v is string => typeof v === 'string' && taskIdPattern.test(v);
/** Absent is the default; null is a value, and wrong (as the schema holds). */
const orDefault = <T>(v: unknown, fallback: T): unknown => (v === undefined ? fallback : v);
const isPositiveInteger = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;

/** Whether `v` has no keys but `known` (the schema's nested objects are strict). */
function onlyKeys(v: Fields, known: readonly string[]): boolean {
  for (const k in v) if (!known.includes(k)) return false;
  return true;
}

const noNames: readonly string[] = Object.freeze([]);

function names(v: unknown, is: (x: unknown) => x is string): readonly string[] | null {
  if (!Array.isArray(v)) return null;
  for (const x of v) if (!is(x)) return null;
  return v as string[];
}

const BACKOFF_KEYS = ['initialMs', 'factor', 'maxMs', 'jitter'] as const;

function readRetry(v: unknown): RetryPolicy | null {
  if (!isObject(v) || !onlyKeys(v, ['maxAttempts', 'backoff'])) return null;
  const maxAttempts = orDefault(v['maxAttempts'], defaultRetry.maxAttempts);
  if (!Number.isSafeInteger(maxAttempts) || !inBounds(maxAttempts, taskBounds.maxAttempts)) return null;
  const b = orDefault(v['backoff'], {});
  if (!isObject(b) || !onlyKeys(b, BACKOFF_KEYS)) return null;
  const backoff = { ...defaultRetry.backoff } as { -readonly [k in keyof BackoffPolicy]: number };
  for (const k of BACKOFF_KEYS) {
    const x = orDefault(b[k], defaultRetry.backoff[k]);
    if (!inBounds(x, taskBounds.backoff[k])) return null;
    backoff[k] = x;
  }
  return { maxAttempts, backoff };
}

function readTimeout(v: unknown): number | null | undefined {
  if (v === undefined || v === null) return null;
  return isPositiveInteger(v) ? v : undefined;
}

function readTimeouts(v: unknown): TaskRecord['timeouts'] | null {
  if (!isObject(v) || !onlyKeys(v, ['scheduleToStartMs', 'runMs'])) return null;
  const scheduleToStartMs = readTimeout(v['scheduleToStartMs']);
  const runMs = readTimeout(v['runMs']);
  return scheduleToStartMs === undefined || runMs === undefined ? null : { scheduleToStartMs, runMs };
}

function readResources(v: unknown): TaskRecord['resources'] | null {
  if (!isObject(v)) return null;
  for (const k in v) if (!isName(k) || k === '__proto__' || !isPositiveInteger(v[k])) return null;
  // A copy, as a parse returns: the spec never shares an object with the store's value.
  return { ...v } as { [pool: string]: number };
}

function readWorkflow(v: unknown): TaskRecord['workflow'] | false {
  if (v === undefined || v === null) return v;
  if (!isObject(v)) return false;
  const { run, step, iteration } = v;
  return typeof run === 'string' && typeof step === 'string' && typeof iteration === 'string'
    ? { run, step, iteration }
    : false;
}

/** A stored task record as taskRecordSchema would parse it, or null where the schema refuses it. */
export function readTaskRecord(v: unknown): TaskRecord | null {
  if (!isObject(v)) return null;
  const { id, type, submittedAt, submittedBy } = v;
  if (!isTaskId(id) || !isName(type) || !isNumber(submittedAt) || typeof submittedBy !== 'string')
    return null;
  const priority = orDefault(v['priority'], 0);
  if (!Number.isSafeInteger(priority) || !inBounds(priority, taskBounds.priority)) return null;
  const needs = v['needs'] === undefined ? undefined : names(v['needs'], isName);
  const dependsOn = v['dependsOn'] === undefined ? noNames : names(v['dependsOn'], isTaskId);
  const resources = v['resources'] === undefined ? undefined : readResources(v['resources']);
  const retry = v['retry'] === undefined ? undefined : readRetry(v['retry']);
  const timeouts = v['timeouts'] === undefined ? undefined : readTimeouts(v['timeouts']);
  const workflow = readWorkflow(v['workflow']);
  if (needs === null || dependsOn === null || resources === null || retry === null || timeouts === null)
    return null;
  if (workflow === false) return null;
  const key = v['idempotencyKey'];
  if (
    key !== undefined &&
    (typeof key !== 'string' ||
      key.length < taskBounds.idempotencyKey.min ||
      key.length > taskBounds.idempotencyKey.max)
  ) {
    return null;
  }
  // Filled in place, not spread from parts: this runs for every task record a replica hears of.
  const out: { -readonly [k in keyof TaskRecord]: TaskRecord[k] } = {
    id,
    type,
    submittedAt,
    submittedBy,
    priority,
    dependsOn,
  };
  if (needs !== undefined) out.needs = needs;
  if ('input' in v) out.input = v['input'] as TaskRecord['input'];
  if (resources !== undefined) out.resources = resources;
  if (retry !== undefined) out.retry = retry;
  if (timeouts !== undefined) out.timeouts = timeouts;
  if (key !== undefined) out.idempotencyKey = key;
  if (workflow !== undefined) out.workflow = workflow;
  if ('trace' in v) out.trace = v['trace'];
  return out;
}
