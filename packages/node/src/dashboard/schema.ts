import { z } from 'zod';

const MINUTE_MS = 60_000;

/** `GET /v1/activity`: how far back, and in how wide buckets (at most MAX_BUCKETS of them). */
export const activityQuery = z
  .object({
    windowMs: z.coerce
      .number()
      .int()
      .min(10_000)
      .max(24 * 60 * MINUTE_MS)
      .default(15 * MINUTE_MS),
    bucketMs: z.coerce
      .number()
      .int()
      .min(1_000)
      .max(MINUTE_MS * 60)
      .optional(),
  })
  .strict();
export type ActivityQuery = z.output<typeof activityQuery>;

export const MAX_BUCKETS = 720;
