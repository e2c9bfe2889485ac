import { createHash } from 'node:crypto';
import { terminalStatuses, type AttemptRow, type TaskView } from '@meshwork/coordinator';
import type { WebhookEventType } from '../config.ts';
import { toJson } from '../json.ts';

/** One task event as a webhook delivers it. */
export interface WebhookEvent {
  /** The same for the same event on every node: receivers de-duplicate by it. */
  readonly id: string;
  readonly type: WebhookEventType;
  /** The JSON body, kept as sent so every delivery of the event carries the same bytes. */
  readonly body: string;
}

function eventId(type: WebhookEventType, task: string, epoch = 0, agent = ''): string {
  const hash = createHash('sha256').update(`${type}\0${task}\0${epoch}\0${agent}`).digest('hex');
  return `ev-${hash.slice(0, 32)}`;
}

/**
 * The events a task's state implies so far: `task.submitted`, `task.started` for each attempt
 * that started, and `task.succeeded`, `task.failed` or `task.cancelled` once it finished. A node
 * that learns of a task late still derives the events it missed; ids make them the same events
 * whichever node derives them, however often.
 */
export function taskEvents(
  task: TaskView,
  attempts: readonly AttemptRow[],
  node: string,
  now: number,
): WebhookEvent[] {
  const summary = toJson({
    id: task.id,
    type: task.spec.type,
    status: task.status,
    epoch: task.epoch,
    attempts: task.attemptsUsed,
    agent: task.agent,
    needs: task.spec.needs,
    priority: task.spec.priority,
    submittedAt: task.spec.submittedAt,
    submittedBy: task.spec.submittedBy,
    workflow: task.spec.workflow,
    result: task.result,
    error: task.error,
  });
  const event = (
    type: WebhookEventType,
    id: string,
    occurredAt: number,
    extra: Record<string, unknown> = {},
  ): WebhookEvent => ({
    id,
    type,
    body: JSON.stringify({ id, type, occurredAt, node, ...extra, task: summary }),
  });
  const events = [event('task.submitted', eventId('task.submitted', task.id), task.spec.submittedAt)];
  for (const a of attempts) {
    events.push(
      event('task.started', eventId('task.started', task.id, a.epoch, a.agent), a.startedAt, {
        attempt: { epoch: a.epoch, agent: a.agent, node: a.node, startedAt: a.startedAt },
      }),
    );
  }
  if (terminalStatuses.has(task.status)) {
    const type = `task.${task.status}` as WebhookEventType;
    events.push(event(type, eventId(type, task.id), now));
  }
  return events;
}
