import { toAssignment, type HeldAttempt } from './held-attempt.ts';
import type { AbortedAttempt, TaskAssignment } from './protocol.ts';

/** A poll waiting for tasks: answered with at most `max` of them, or `[]` when it gives up. */
interface Poll {
  readonly max: number;
  readonly finish: (tasks: TaskAssignment[]) => void;
}

/** One registered pull worker: the agent it speaks for, the attempts it holds and its open polls. */
export interface PullWorker {
  readonly id: string;
  readonly agentId: string;
  readonly capabilities: readonly string[];
  readonly capacity: number;
  readonly registeredAt: number;
  readonly unregisterAgent: () => void;
  lastSeen: number;
  /** By task id: the coordinator runs one attempt of a task on an agent at a time. */
  readonly held: Map<string, HeldAttempt>;
  /** Held and not yet delivered, oldest first. */
  readonly queue: HeldAttempt[];
  readonly polls: Set<Poll>;
  readonly aborted: AbortedAttempt[];
  timer: NodeJS.Timeout | undefined;
}

/** Delivers up to `max` queued attempts. */
export function takeQueued(w: PullWorker, max: number): TaskAssignment[] {
  const batch = w.queue.splice(0, max);
  for (const h of batch) h.delivered = true;
  return batch.map(toAssignment);
}

/** Answers open polls from the queue, oldest poll first. */
export function dispatch(w: PullWorker): void {
  for (const poll of w.polls) {
    if (w.queue.length === 0) return;
    poll.finish(takeQueued(w, poll.max));
  }
}

/** Waits up to `waitMs` for attempts to deliver, or until `signal` aborts; `[]` when none came. */
export function openPoll(
  w: PullWorker,
  max: number,
  waitMs: number,
  signal: AbortSignal | undefined,
): Promise<TaskAssignment[]> {
  return new Promise<TaskAssignment[]>((resolve) => {
    const finish = (tasks: TaskAssignment[]): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      w.polls.delete(poll);
      resolve(tasks);
    };
    const poll: Poll = { max, finish };
    const onAbort = (): void => finish([]);
    const timer = setTimeout(onAbort, waitMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    w.polls.add(poll);
  });
}

/** Answers every open poll with nothing. */
export function closePolls(w: PullWorker): void {
  for (const poll of [...w.polls]) poll.finish([]);
}

/** Takes an attempt off the worker; false when it no longer held it. */
export function dropAttempt(w: PullWorker, h: HeldAttempt): boolean {
  if (w.held.get(h.task.id) !== h) return false;
  w.held.delete(h.task.id);
  const queued = w.queue.indexOf(h);
  if (queued >= 0) w.queue.splice(queued, 1);
  if (h.progressTimer !== undefined) clearTimeout(h.progressTimer);
  return true;
}
