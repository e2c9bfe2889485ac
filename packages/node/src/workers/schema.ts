import { z } from 'zod';

/** As the coordinator checks agent ids and capabilities, so a bad one is refused naming its field. */
const name = z.string().regex(/^[\w.:/@-]{1,128}$/, 'expected 1-128 letters, digits, _ . : / @ -');

export const registerWorkerBody = z.strictObject({
  /** The agent's id, unique in the mesh while the worker is registered. */
  id: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'expected an agent id (letters, digits, . _ : -)'),
  capabilities: z.array(name).max(64).default([]),
  /** Tasks the worker holds at once. */
  capacity: z.number().int().min(1).max(1024).default(1),
  metadata: z.record(z.string(), z.unknown()).optional(),
});
export type RegisterWorkerBody = z.output<typeof registerWorkerBody>;

export const heartbeatBody = z.strictObject({});

export const pollBody = z.strictObject({
  /** How long to wait for a task when none is waiting; capped at `workers.maxWaitMs`. */
  waitMs: z.number().int().min(0).max(60_000).optional(),
  /** Most tasks to take in this answer. */
  max: z.number().int().min(1).max(1024).default(1),
});
export type PollBody = z.output<typeof pollBody>;

/** The fencing token of the attempt a report is about. */
const epoch = z.number().int().min(1);

export const progressBody = z.strictObject({ epoch, data: z.unknown() });
export type ProgressBody = z.output<typeof progressBody>;

export const completeBody = z.strictObject({ epoch, result: z.unknown().default(null) });
export type CompleteBody = z.output<typeof completeBody>;

export const failBody = z.strictObject({
  epoch,
  message: z.string().min(1).max(4096),
  /** False: retrying cannot help, the task fails at once. */
  retryable: z.boolean().default(true),
});
export type FailBody = z.output<typeof failBody>;
