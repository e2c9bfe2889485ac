import type { Value } from '@meshwork/core';
import { z } from 'zod';
import { invalid, type CoordinatorError } from './errors.ts';
import { defaultRetry } from './retry.ts';

/*
 * The one definition of a task submission: the library's submit(), the HTTP API, the CLI and the
 * MCP server all check a task against these schemas, and records read from peers are held to
 * the same rules.
 */

/**
 * A task's or workflow run's id. Ids are path segments of the HTTP API (`/v1/tasks/{id}`), so
 * no `/`, and a letter or digit first (`.` and `..` are not segments a URL keeps; an id never
 * reads as a CLI flag).
 */
export const taskIdPattern = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
/** Names of task types, capabilities, resource pools, steps: never a path segment. */
export const namePattern = /^[\w.:/@-]{1,128}$/;

export const taskIdSchema = z
  .string({ error: 'must be a string' })
  .regex(
    taskIdPattern,
    'must be 1-128 characters of letters, digits, . _ : -, starting with a letter or digit',
  );
export const nameSchema = z
  .string({ error: 'must be a string' })
  .regex(namePattern, 'must be 1-128 characters of letters, digits, _ . : / @ -');

const DAY_MS = 86_400_000;

/**
 * The bounds of a task's numbers and strings: the schemas below and the structural read of
 * stored records (task-record.ts) both take them from here.
 */
export const taskBounds = {
  priority: { min: -1000, max: 1000 },
  maxAttempts: { min: 1, max: 1000 },
  backoff: {
    initialMs: { min: 0, max: DAY_MS },
    factor: { min: 1, max: 100 },
    maxMs: { min: 0, max: DAY_MS },
    jitter: { min: 0, max: 1 },
  },
  idempotencyKey: { min: 1, max: 256 },
} as const;

type Bound = { readonly min: number; readonly max: number };
const within = ({ min, max }: Bound, what: 'a number' | 'an integer') => {
  const message = `must be ${what} from ${min} to ${max}`;
  const n = z.number({ error: message }).min(min, message).max(max, message);
  return what === 'an integer' ? n.int(message) : n;
};

const backoffField = (k: keyof typeof taskBounds.backoff) =>
  within(taskBounds.backoff[k], 'a number').default(defaultRetry.backoff[k]);

/** Delays between attempts: `initialMs` before the second, times `factor` per further one, at most `maxMs`. */
export const backoffSchema = z.strictObject({
  initialMs: backoffField('initialMs'),
  factor: backoffField('factor'),
  maxMs: backoffField('maxMs'),
  /** Fraction of each delay randomised, seeded by task and attempt so every replica agrees. */
  jitter: backoffField('jitter'),
});

export const retrySchema = z.strictObject({
  /** Attempts in all, the first included. */
  maxAttempts: within(taskBounds.maxAttempts, 'an integer').default(defaultRetry.maxAttempts),
  backoff: backoffSchema.prefault({}),
});

const timeout = 'must be a positive integer of ms or null';
const timeoutMs = z.number({ error: timeout }).int(timeout).positive(timeout).nullable().default(null);
export const timeoutsSchema = z.strictObject({
  /** Fails the task if no attempt starts within this time. */
  scheduleToStartMs: timeoutMs,
  /** Fails an attempt that runs longer than this. */
  runMs: timeoutMs,
});

const amount = 'must be a positive integer';
/** Resource pool units held while running, e.g. `{ "gpu": 1 }`. */
/** `__proto__` is no pool: as a key it would set an object's prototype instead of an amount. */
export const resourcesSchema = z
  .unknown()
  .refine(
    (v) => typeof v !== 'object' || v === null || !Object.hasOwn(v, '__proto__'),
    'a pool must not be named __proto__',
  )
  .pipe(z.record(nameSchema, z.number({ error: amount }).int(amount).positive(amount)));

const { idempotencyKey: keyLength } = taskBounds;
const keyMessage = `must be a string of ${keyLength.min} to ${keyLength.max} characters`;

/**
 * A task submission. `input` is plain data, checked against the shared state's limits
 * (`checkData`) where the task is built, so an oversized one is told apart from a malformed one.
 */
export const taskInputSchema = z.strictObject({
  /** Chosen by the mesh when absent. */
  id: taskIdSchema.optional(),
  /** What kind of work: agents pick tasks by `needs`, which defaults to `[type]`. */
  type: nameSchema,
  /** Capabilities an agent needs to take the task; default `[type]`. */
  needs: z.array(nameSchema, { error: 'must be an array of names' }).optional(),
  input: z.custom<Value>().optional(),
  /** Higher runs first; waiting tasks age upward. */
  priority: within(taskBounds.priority, 'an integer').default(0),
  /** Tasks that must succeed first. */
  dependsOn: z.array(taskIdSchema, { error: 'must be an array of task ids' }).default([]),
  resources: resourcesSchema.optional(),
  retry: retrySchema.optional(),
  timeouts: timeoutsSchema.optional(),
  /** Handed to every attempt (default: the task id), so a sink can apply an effect once. */
  idempotencyKey: z
    .string({ error: keyMessage })
    .min(keyLength.min, keyMessage)
    .max(keyLength.max, keyMessage)
    .optional(),
});

/** `T` with its fields readonly and its lists readonly, so a caller's readonly lists are accepted. */
export type ReadonlyFields<T> = { readonly [K in keyof T]: ReadonlyList<T[K]> };
type ReadonlyList<V> = V extends (infer E)[] ? readonly E[] : V;

/** What submit() takes: a task as the caller writes it, defaults left out. */
export type TaskInput = ReadonlyFields<z.input<typeof taskInputSchema>>;

/**
 * A path of a zod issue as the field it names, as the HTTP API and the config name fields:
 * `retry.backoff.factor`, `needs.1`.
 */
function fieldOf(path: readonly PropertyKey[]): string {
  return path.map(String).join('.');
}

/**
 * The first issue of a failed parse as the coordinator's typed error naming its field, the
 * issue's path under `under` (the field of the value parsed; `task` for a whole submission).
 */
export function invalidFrom(error: z.ZodError, under = 'task'): CoordinatorError {
  const issue = error.issues[0]!;
  const unknown = issue.code === 'unrecognized_keys';
  const inner = fieldOf(unknown ? [...issue.path, issue.keys[0]!] : issue.path);
  const field = inner === '' ? under : under === 'task' ? inner : `${under}.${inner}`;
  return invalid(field, unknown ? 'unknown field' : issue.message);
}

/** The fields a workflow step sets of the tasks it creates, checked as a submission's. */
export const stepTaskSchema = taskInputSchema.pick({
  priority: true,
  resources: true,
  retry: true,
  timeouts: true,
});

const workflowRefSchema = z.object({ run: z.string(), step: z.string(), iteration: z.string() });

/**
 * A task as stored in shared state: the submission (its defaults left out) with its id, when and
 * by whom, and its workflow position. Another replica may run other code: fields a later version
 * adds are dropped, a record that breaks a rule is not a task.
 */
export const taskRecordSchema = z.object({
  ...taskInputSchema.shape,
  id: taskIdSchema,
  submittedAt: z.number(),
  submittedBy: z.string(),
  workflow: workflowRefSchema.nullish(),
  trace: z.unknown().optional(),
});
