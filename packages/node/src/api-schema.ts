import { nameSchema, taskIdSchema, taskInputSchema } from '@meshwork/coordinator';
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

/**
 * POST /v1/tasks: the task as the library's submit() takes it (taskInputSchema, one shape and
 * one set of rules everywhere), with what the node adds: an `input` that is an executor call is
 * checked against its executor, and `type` may be left out.
 */
export const submitTaskBody = taskInputSchema.extend({
  input: submittedInput,
  /** Task type; default `executor:<kind>` of the input (`executor:worker` for a pull worker's). */
  type: nameSchema.optional(),
  /** Capabilities an agent needs besides the executor's (`executor:<kind>` is added). */
  needs: taskInputSchema.shape.needs.unwrap().default([]),
});
export type SubmitTaskBody = z.output<typeof submitTaskBody>;

export const startWorkflowBody = z.strictObject({
  /** A template registered on the node (see GET /v1/workflows/templates) or an inline definition. */
  template: z.union([z.string().min(1), z.record(z.string(), z.unknown())]),
  params: z.record(z.string(), z.unknown()).default({}),
  id: taskIdSchema.optional(),
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
