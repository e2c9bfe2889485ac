import { z } from 'zod';
import { positive } from './field-schemas.ts';

export const defaultWorkerSettings = Object.freeze({
  leaseMs: 2_000,
  maxWaitMs: 20_000,
  maxWorkers: 100,
  maxResultBytes: 256 * 1024,
});

/** Pull workers (POST /v1/workers): how long a silent one keeps its tasks, and its bounds. */
export const workerSettings = z
  .strictObject({
    /** A worker that makes no call for this long loses its registration and its tasks. */
    leaseMs: z
      .number()
      .int('expected a whole number')
      .min(500, 'expected at least 500 ms')
      .max(60_000, 'expected at most 60000 ms')
      .default(defaultWorkerSettings.leaseMs),
    /** Longest a poll waits for a task. */
    maxWaitMs: z
      .number()
      .int('expected a whole number')
      .min(0, 'expected a number >= 0')
      .max(60_000, 'expected at most 60000 ms')
      .default(defaultWorkerSettings.maxWaitMs),
    maxWorkers: positive(defaultWorkerSettings.maxWorkers),
    /** Largest result or progress value a worker may report, as JSON. */
    maxResultBytes: positive(defaultWorkerSettings.maxResultBytes),
  })
  .default(() => ({ ...defaultWorkerSettings }));

export type WorkerSettings = z.output<typeof workerSettings>;
