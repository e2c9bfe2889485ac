import { z } from 'zod';
import { positive } from './field-schemas.ts';

/** The task events a webhook may subscribe to. */
export const WEBHOOK_EVENTS = [
  'task.submitted',
  'task.started',
  'task.succeeded',
  'task.failed',
  'task.cancelled',
] as const;

export const webhookSchema = z.strictObject({
  /** Names the webhook in the outbox, metrics and logs. */
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'expected 1-64 letters, digits, ".", "_" or "-"'),
  url: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }),
  /** Key of the HMAC-SHA256 signature the receiver checks. */
  secret: z.string().min(16, 'expected at least 16 characters'),
  events: z
    .array(z.enum(WEBHOOK_EVENTS))
    .min(1)
    .default([...WEBHOOK_EVENTS]),
  timeoutMs: positive(10_000),
  /** Deliveries in flight at once. */
  concurrency: z.number().int().min(1).max(64).default(4),
  /** Undelivered events kept; past it new events for this webhook are dropped. */
  maxPending: positive(10_000),
  retry: z
    .strictObject({
      /** Deliveries of one event before it is given up. */
      maxAttempts: z.number().int().min(1).max(1000).default(20),
      /** Wait after the first failure, doubled after each further one up to `maxMs`. */
      initialMs: positive(1_000),
      maxMs: positive(3_600_000),
    })
    .default({ maxAttempts: 20, initialMs: 1_000, maxMs: 3_600_000 }),
});

export type WebhookEventType = (typeof WEBHOOK_EVENTS)[number];
