import { z } from 'zod';
import { httpInput } from './executors/http.ts';
import { moduleInput } from './executors/module.ts';
import { shellInput } from './executors/shell.ts';

/** A task's input: the call its executor makes. The executor field picks the schema. */
export const taskInput = z.discriminatedUnion('executor', [shellInput, httpInput, moduleInput]);

/** Whether a submitted input is an executor call (an object with an `executor` field). */
export function isExecutorCall(input: unknown): boolean {
  return typeof input === 'object' && input !== null && !Array.isArray(input) && 'executor' in input;
}

/**
 * A submitted input: an executor call, checked against its executor's schema, or any other
 * value, which is data for a pull worker.
 */
const submittedInput = z.unknown().transform((input, ctx) => {
  if (!isExecutorCall(input)) return input;
  const parsed = taskInput.safeParse(input);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) ctx.addIssue({ ...issue });
  return z.NEVER;
});

const id = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'expected an id (letters, digits, . _ : -)');

export const submitTaskBody = z.strictObject({
  /** Chosen by the mesh when absent. */
  id: id.optional(),
  input: submittedInput,
  /** Task type; default `executor:<kind>` of the input (`executor:worker` for a pull worker's). */
  type: z
    .string()
    .regex(/^[\w.:/@-]{1,128}$/, 'expected 1-128 letters, digits, _ . : / @ -')
    .optional(),
  /** Capabilities an agent needs besides the executor's (`executor:<kind>` is added). */
  needs: z.array(z.string().min(1)).default([]),
  priority: z.number().int().min(-1000).max(1000).default(0),
  dependsOn: z.array(id).default([]),
  /** Resource pool units held while running, e.g. `{ "gpu": 1 }`. */
  resources: z.record(z.string().min(1), z.number().int().positive()).default({}),
  retry: z
    .strictObject({
      maxAttempts: z.number().int().min(1).max(100).default(3),
      backoffMs: z.number().int().min(0).default(1_000),
    })
    .optional(),
  /** Fails the task if no attempt starts within this time. */
  scheduleToStartMs: z.number().int().positive().optional(),
  /** Fails an attempt that runs longer than this. */
  runTimeoutMs: z.number().int().positive().optional(),
  idempotencyKey: z.string().min(1).max(256).optional(),
});
export type SubmitTaskBody = z.output<typeof submitTaskBody>;

export const startWorkflowBody = z.strictObject({
  /** A template registered on the node (see GET /v1/workflows/templates) or an inline definition. */
  template: z.union([z.string().min(1), z.record(z.string(), z.unknown())]),
  params: z.record(z.string(), z.unknown()).default({}),
  id: id.optional(),
});
export type StartWorkflowBody = z.output<typeof startWorkflowBody>;

/** A page of tasks, newest first: at most `limit` after `cursor` (the `nextCursor` of the page before). */
export const listTasksQuery = z.strictObject({
  status: z.enum(['pending', 'claimed', 'running', 'succeeded', 'failed', 'cancelled']).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(100),
  cursor: z.string().min(1).max(512).optional(),
});
export type ListTasksQuery = z.output<typeof listTasksQuery>;

/** A page of workflow runs, by run id: at most `limit` after `cursor` (the `nextCursor` of the page before). */
export const listWorkflowsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(10_000).default(100),
  cursor: z.string().min(1).max(512).optional(),
});
export type ListWorkflowsQuery = z.output<typeof listWorkflowsQuery>;

/** `POST /v1/admin/reload` takes no options: the daemon reads its own config file again. */
export const reloadBody = z.strictObject({});

/** The body of every error answer. `field` names the request field at fault, when one is. */
export const apiErrorBody = z.strictObject({
  error: z.strictObject({
    code: z.string(),
    message: z.string(),
    field: z.string().optional(),
  }),
});
