import type { Coordinator, TaskView } from '@meshwork/coordinator';
import type { Registry } from 'prom-client';
import type { WebhookConfig } from '../config.ts';
import type { Logger } from '../logger.ts';
import { createWebhookDelivery, type WebhookDelivery } from './delivery.ts';
import { taskEvents, type WebhookEvent } from './events.ts';
import { createWebhookMetrics } from './metrics.ts';
import { openOutbox } from './outbox.ts';

export interface Webhooks {
  /** Records the events seen so far, stops delivering and closes the outbox. */
  stop(): void;
}

/** Event ids known to be in the outbox, so a task's every progress change costs no database work. */
const KNOWN_EVENTS = 200_000;
/** Finished outbox rows go in steps of this many, once a minute. */
const PRUNE_BATCH = 5_000;
const PRUNE_EVERY_MS = 60_000;
/** A full outbox is logged at most this often per webhook. */
const FULL_LOG_EVERY_MS = 60_000;

/**
 * Task events to the configured webhooks, through a durable outbox in the node's database. Each
 * task the coordinator reports (any task of the mesh this node learns of) yields its events
 * (see {@link taskEvents}); those a webhook subscribes to and has not recorded yet are written to
 * the outbox in one transaction per event-loop turn, then delivered. After a restart the
 * coordinator reports every task again: events already recorded are recognised by id, and
 * pending ones are delivered. Delivered and given-up rows are kept `keepMs` (0: for good).
 */
export function startWebhooks(deps: {
  readonly coordinator: Coordinator;
  readonly hooks: readonly WebhookConfig[];
  /** The node's database file. */
  readonly dbPath: string;
  readonly sync: 'full' | 'normal';
  readonly node: string;
  readonly keepMs: number;
  readonly logger: Logger;
  readonly registry: Registry;
}): Webhooks {
  const { coordinator, hooks, logger } = deps;
  const outbox = openOutbox(deps.dbPath, { sync: deps.sync });
  for (const [hook, count] of outbox.dropOthers(hooks.map((h) => h.name)))
    logger.warn(
      { webhook: hook, events: count },
      'webhook no longer configured: its undelivered events dropped',
    );
  if (hooks.length === 0) {
    outbox.close();
    return { stop: () => undefined };
  }

  const deliveries = new Map<string, WebhookDelivery>();
  const metrics = createWebhookMetrics(
    deps.registry,
    hooks.map((h) => h.name),
    (name) => deliveries.get(name)?.pending ?? 0,
  );
  for (const hook of hooks)
    deliveries.set(hook.name, createWebhookDelivery({ hook, outbox, logger, metrics }));

  const known = new Set<string>();
  const remember = (key: string): void => {
    known.add(key);
    if (known.size > KNOWN_EVENTS) known.delete(known.values().next().value!);
  };
  const fullSince = new Map<string, { at: number; dropped: number }>();
  const dropped = (hook: WebhookConfig, event: WebhookEvent): void => {
    metrics.dropped(hook.name);
    const full = fullSince.get(hook.name);
    const now = Date.now();
    if (full !== undefined && now - full.at < FULL_LOG_EVERY_MS) {
      full.dropped++;
      return;
    }
    fullSince.set(hook.name, { at: now, dropped: 0 });
    logger.warn(
      {
        webhook: hook.name,
        event: event.id,
        type: event.type,
        maxPending: hook.maxPending,
        droppedSinceLastLog: full?.dropped ?? 0,
      },
      'webhook outbox full: event dropped',
    );
  };

  let queue: [WebhookConfig, WebhookEvent][] = [];
  let flushTimer: NodeJS.Immediate | undefined;
  const flush = (): void => {
    flushTimer = undefined;
    const batch = queue;
    queue = [];
    const added = new Map<string, number>();
    try {
      outbox.transaction(() => {
        for (const [hook, event] of batch) {
          const delivery = deliveries.get(hook.name)!;
          const pending = delivery.pending + (added.get(hook.name) ?? 0);
          if (pending >= hook.maxPending && !outbox.has(hook.name, event.id)) dropped(hook, event);
          else if (outbox.add(hook.name, event, Date.now()))
            added.set(hook.name, (added.get(hook.name) ?? 0) + 1);
        }
      });
    } catch (err) {
      // The database refused the batch (disk full, node failing): nothing of it was recorded.
      logger.error({ err, events: batch.length }, 'cannot record webhook events');
      for (const [hook] of batch) metrics.dropped(hook.name);
      return;
    }
    for (const [hook, event] of batch) remember(`${hook.name}\0${event.id}`);
    for (const [name, count] of added) {
      const delivery = deliveries.get(name)!;
      delivery.added(count);
      delivery.pump();
    }
  };

  const onTask = (task: TaskView): void => {
    try {
      const events = taskEvents(task, coordinator.attempts(task.id), deps.node, Date.now());
      for (const hook of hooks) {
        for (const event of events) {
          if (!hook.events.includes(event.type) || known.has(`${hook.name}\0${event.id}`)) continue;
          queue.push([hook, event]);
        }
      }
      if (queue.length > 0) flushTimer ??= setImmediate(flush);
    } catch (err) {
      // Called from the coordinator's pass, which must go on.
      logger.error({ err, task: task.id }, 'cannot derive webhook events');
    }
  };
  coordinator.events.on('task', onTask);

  let pruneTimer: NodeJS.Timeout | undefined;
  const prune = (): void => {
    let removed = 0;
    try {
      removed = outbox.prune(Date.now() - deps.keepMs, PRUNE_BATCH);
    } catch (err) {
      logger.error({ err }, 'cannot prune the webhook outbox');
    }
    pruneTimer = setTimeout(prune, removed >= PRUNE_BATCH ? 0 : PRUNE_EVERY_MS).unref();
  };
  if (deps.keepMs > 0) prune();
  for (const delivery of deliveries.values()) delivery.pump();

  let stopped = false;
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      coordinator.events.off('task', onTask);
      if (flushTimer !== undefined) {
        clearImmediate(flushTimer);
        flush();
      }
      clearTimeout(pruneTimer);
      for (const delivery of deliveries.values()) delivery.stop();
      outbox.close();
      metrics.remove();
    },
  };
}
