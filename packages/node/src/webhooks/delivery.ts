import type { WebhookConfig } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { WebhookMetrics } from './metrics.ts';
import type { Outbox, OutboxRow } from './outbox.ts';
import { signWebhook, WEBHOOK_HEADERS } from './signature.ts';

/** Delivers one webhook's pending events from the outbox. */
export interface WebhookDelivery {
  /** Events waiting for delivery. */
  readonly pending: number;
  /** Counts events just added to the outbox (then `pump()` sends them). */
  added(count: number): void;
  /** Looks for due events now. */
  pump(): void;
  /** Stops: deliveries in flight are abandoned and stay pending, to be sent after a restart. */
  stop(): void;
}

/** How soon a pass that failed on the database tries again. */
const STORE_RETRY_MS = 1_000;

/**
 * Sends a webhook's pending events oldest-due first, `concurrency` at a time, each signed afresh.
 * A failed delivery (no 2xx within `timeoutMs`) is retried after `initialMs`, doubling up to
 * `maxMs`, until `maxAttempts`; and every failure pauses the whole webhook for the same kind of
 * backoff, counted over its consecutive failures, so an endpoint that is down is probed, not
 * flooded, while its other events wait.
 */
export function createWebhookDelivery(deps: {
  readonly hook: WebhookConfig;
  readonly outbox: Outbox;
  readonly logger: Logger;
  readonly metrics: WebhookMetrics;
}): WebhookDelivery {
  const { hook, outbox, metrics } = deps;
  const logger = deps.logger.child({ webhook: hook.name });
  const inFlight = new Map<number, AbortController>();
  let pending = outbox.pending(hook.name);
  let failures = 0;
  let pausedUntil = 0;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  /** The wait after `n` failures: doubling from `initialMs`, capped, with ±20 % jitter. */
  const backoff = (n: number): number => {
    const base = Math.min(hook.retry.maxMs, hook.retry.initialMs * 2 ** (n - 1));
    return Math.round(base * (0.8 + 0.4 * Math.random()));
  };

  const wakeAt = (at: number): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(pump, Math.max(0, at - Date.now()));
  };

  function pump(): void {
    if (stopped) return;
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    const now = Date.now();
    if (now < pausedUntil) return wakeAt(pausedUntil);
    const free = hook.concurrency - inFlight.size;
    if (free <= 0) return;
    try {
      const rows = outbox
        .due(hook.name, now, free + inFlight.size)
        .filter((r) => !inFlight.has(r.id))
        .slice(0, free);
      for (const row of rows) void deliver(row);
      // With deliveries in flight, the end of each pumps again.
      if (inFlight.size === 0) {
        const next = outbox.nextDue(hook.name);
        if (next !== undefined) wakeAt(next);
      }
    } catch (err) {
      logger.error({ err }, 'cannot read the webhook outbox; retrying');
      wakeAt(now + STORE_RETRY_MS);
    }
  }

  /** Sends one event; never rejects. */
  async function deliver(row: OutboxRow): Promise<void> {
    const controller = new AbortController();
    inFlight.set(row.id, controller);
    const attempt = row.attempts + 1;
    const timestamp = Math.floor(Date.now() / 1000);
    let error: string | undefined;
    try {
      const res = await fetch(hook.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'meshwork-webhooks',
          [WEBHOOK_HEADERS.id]: row.eventId,
          [WEBHOOK_HEADERS.type]: row.type,
          [WEBHOOK_HEADERS.timestamp]: String(timestamp),
          [WEBHOOK_HEADERS.signature]: signWebhook(hook.secret, timestamp, row.body),
          [WEBHOOK_HEADERS.attempt]: String(attempt),
        },
        body: row.body,
        redirect: 'manual',
        signal: AbortSignal.any([controller.signal, AbortSignal.timeout(hook.timeoutMs)]),
      });
      // Only the status matters; the answer's body is not read.
      await res.body?.cancel();
      if (res.status < 200 || res.status > 299) error = `answered ${res.status}`;
    } catch (err) {
      error =
        (err as Error).name === 'TimeoutError'
          ? `no answer within ${hook.timeoutMs} ms`
          : `cannot reach ${hook.url}: ${(err as Error).message}`;
    }
    inFlight.delete(row.id);
    // Abandoned by stop(): the row stays as it was, pending.
    if (stopped) return;
    const now = Date.now();
    try {
      if (error === undefined) {
        outbox.delivered(row.id, attempt, now);
        pending--;
        failures = 0;
        metrics.delivery(hook.name, 'delivered');
      } else {
        failures++;
        pausedUntil = now + backoff(failures);
        if (attempt >= hook.retry.maxAttempts) {
          outbox.gaveUp(row.id, attempt, now, error);
          pending--;
          metrics.delivery(hook.name, 'gave_up');
          logger.warn(
            { event: row.eventId, type: row.type, attempts: attempt, error },
            'webhook event given up',
          );
        } else {
          outbox.retry(row.id, attempt, now + backoff(attempt), error);
          metrics.delivery(hook.name, 'failed');
          logger.debug({ event: row.eventId, attempt, error }, 'webhook delivery failed; will retry');
        }
      }
    } catch (err) {
      // Not recorded: the row stays pending and is sent again (at least once).
      logger.error({ err, event: row.eventId }, 'cannot record a webhook delivery');
    }
    pump();
  }

  return {
    get pending() {
      return pending;
    },
    added(count) {
      pending += count;
    },
    pump,
    stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      for (const controller of inFlight.values()) controller.abort();
      inFlight.clear();
    },
  };
}
