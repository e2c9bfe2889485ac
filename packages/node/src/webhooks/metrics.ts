import { Counter, Gauge, type Registry } from 'prom-client';

export interface WebhookMetrics {
  /** A delivery ended: `delivered` (2xx), `failed` (to be retried) or `gave_up` (its last attempt failed). */
  delivery(webhook: string, outcome: 'delivered' | 'failed' | 'gave_up'): void;
  /** An event was not recorded: the webhook's outbox was full, or the database refused the write. */
  dropped(webhook: string): void;
  /** Takes these metrics off the registry, so webhooks started again (a reload) can register theirs. */
  remove(): void;
}

const NAMES = {
  deliveries: 'meshwork_webhook_deliveries_total',
  dropped: 'meshwork_webhook_dropped_total',
  pending: 'meshwork_webhook_outbox_pending',
} as const;

/**
 * Webhook figures on the node's Prometheus registry; `pending` is read at scrape time (events
 * waiting in the outbox, per webhook).
 */
export function createWebhookMetrics(
  registry: Registry,
  webhooks: readonly string[],
  pending: (webhook: string) => number,
): WebhookMetrics {
  const deliveries = new Counter({
    name: NAMES.deliveries,
    help: 'Webhook deliveries, by webhook and outcome (delivered, failed: retried later, gave_up: the last attempt failed)',
    labelNames: ['webhook', 'outcome'],
    registers: [registry],
  });
  const dropped = new Counter({
    name: NAMES.dropped,
    help: 'Task events not recorded for a webhook, because its outbox was full (webhooks[].maxPending)',
    labelNames: ['webhook'],
    registers: [registry],
  });
  new Gauge({
    name: NAMES.pending,
    help: 'Task events waiting in the outbox for delivery, by webhook',
    labelNames: ['webhook'],
    registers: [registry],
    collect() {
      for (const webhook of webhooks) this.set({ webhook }, pending(webhook));
    },
  });
  // Present from the first scrape, so alerts need no absent() clause.
  for (const webhook of webhooks) {
    for (const outcome of ['delivered', 'failed', 'gave_up']) deliveries.inc({ webhook, outcome }, 0);
    dropped.inc({ webhook }, 0);
  }
  return {
    delivery: (webhook, outcome) => deliveries.inc({ webhook, outcome }),
    dropped: (webhook) => dropped.inc({ webhook }),
    remove() {
      for (const name of Object.values(NAMES)) registry.removeSingleMetric(name);
    },
  };
}
