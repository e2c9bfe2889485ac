import { createHmac, timingSafeEqual } from 'node:crypto';

/** Headers of every webhook delivery. */
export const WEBHOOK_HEADERS = Object.freeze({
  /** The event id: the same on every delivery of the event, from any node. */
  id: 'meshwork-event-id',
  type: 'meshwork-event-type',
  /** Unix seconds when this delivery was signed. */
  timestamp: 'meshwork-timestamp',
  /** `v1=<hex HMAC-SHA256 of "<timestamp>.<body>" keyed with the webhook's secret>`. */
  signature: 'meshwork-signature',
  /** 1 for the first delivery of the event, then 2, 3, … */
  attempt: 'meshwork-delivery-attempt',
});

/** The `Meshwork-Signature` value of a body signed at `timestamp` (Unix seconds). */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * Checks a delivery as a receiver should: the signature is the body's, signed with `secret`, and
 * the timestamp is within `toleranceS` (default 300) of now, so a captured request cannot be
 * replayed later.
 */
export function verifyWebhook(
  secret: string,
  delivery: { readonly timestamp: string; readonly signature: string; readonly body: string },
  options: { readonly toleranceS?: number; readonly now?: number } = {},
): boolean {
  const timestamp = Number(delivery.timestamp);
  const now = (options.now ?? Date.now()) / 1000;
  if (!Number.isSafeInteger(timestamp) || Math.abs(now - timestamp) > (options.toleranceS ?? 300))
    return false;
  const expected = Buffer.from(signWebhook(secret, timestamp, delivery.body));
  const given = Buffer.from(delivery.signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
