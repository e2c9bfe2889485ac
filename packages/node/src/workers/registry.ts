import { randomBytes } from 'node:crypto';
import {
  CoordinatorError,
  dataLimits,
  PermanentTaskError,
  type TaskContext,
  type TaskView,
} from '@meshwork/coordinator';
import {
  InvalidArgumentError,
  LimitExceededError,
  MeshworkError,
  validateValue,
  type Value,
} from '@meshwork/core';
import { traceHeaders } from '../telemetry/propagation.ts';
import { WorkerError, type WorkerErrorCode } from './errors.ts';
import {
  WORKER_CAPABILITY,
  type TaskAssignment,
  type AbortedAttempt,
  type ReportAnswer,
  type WorkerService,
  type WorkerServiceDeps,
} from './protocol.ts';

/** Progress a worker reports is written into the shared state at most this often per attempt (last value wins). */
const PROGRESS_INTERVAL_MS = 250;
/** Ended attempts and ended workers remembered, to answer a late call with what became of them. */
const MEMORY = 10_000;

/** An attempt the coordinator started on a worker's agent, waiting for the worker's verdict. */
interface Held {
  readonly task: TaskView;
  readonly ctx: TaskContext;
  readonly startedAt: number;
  /** `traceparent` (and `tracestate`) of the attempt's span; empty when tracing is off. */
  readonly trace: Readonly<Record<string, string>>;
  delivered: boolean;
  readonly resolve: (result: Value) => void;
  readonly reject: (error: Error) => void;
  pendingProgress: Value | undefined;
  progressTimer: NodeJS.Timeout | undefined;
  progressAt: number;
}

interface Poll {
  readonly max: number;
  readonly finish: (tasks: TaskAssignment[]) => void;
}

interface Worker {
  readonly id: string;
  readonly agentId: string;
  readonly capabilities: readonly string[];
  readonly capacity: number;
  readonly registeredAt: number;
  readonly unregisterAgent: () => void;
  lastSeen: number;
  /** By task id: the coordinator runs one attempt of a task on an agent at a time. */
  readonly held: Map<string, Held>;
  /** Held and not yet delivered, oldest first. */
  readonly queue: Held[];
  readonly polls: Set<Poll>;
  readonly aborted: AbortedAttempt[];
  timer: NodeJS.Timeout | undefined;
}

interface EndedAttempt {
  readonly workerId: string;
  readonly outcome: 'succeeded' | 'failed' | 'aborted' | 'released';
  readonly reason: string;
  /** What the verdict was answered, so the same verdict sent again gets the same answer. */
  readonly answer?: ReportAnswer;
}

/** A Map that forgets its oldest entries past `max`. */
function remember<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > max) map.delete(map.keys().next().value as K);
}

/** A retryable failure a worker reported. */
class WorkerTaskError extends MeshworkError {
  override readonly name = 'WorkerTaskError';
  constructor(message: string) {
    super('worker_failure', message);
  }
}

function reasonText(reason: unknown): string {
  return reason instanceof Error ? reason.message : typeof reason === 'string' ? reason : 'aborted';
}

/**
 * The lease table of pull workers and the bridge between them and the coordinator: each worker
 * is an agent registered here whose handler queues the attempt for the worker's polls and
 * settles when the worker reports its end. A worker that makes no call for `leaseMs` is
 * unregistered and its attempts are released, so the coordinator's claim for the next epoch goes
 * to another agent at once; its late reports are refused.
 */
export function createWorkerService(deps: WorkerServiceDeps): WorkerService {
  const { coordinator, settings, logger, metrics } = deps;
  const now = deps.now ?? Date.now;
  const heartbeatMs = Math.round(settings.leaseMs / 4);
  const workers = new Map<string, Worker>();
  const agents = new Map<string, string>();
  const gone = new Map<string, { readonly why: 'expired' | 'unregistered'; readonly at: number }>();
  const ended = new Map<string, EndedAttempt>();
  let stopped = false;

  const refuse = (code: WorkerErrorCode, message: string, field?: string): WorkerError => {
    metrics.refused(code);
    return new WorkerError(code, message, field);
  };
  const assertRunning = (): void => {
    if (stopped) throw refuse('stopping', 'the node is stopping');
  };

  /** The registered worker, or the refusal for its id; a gone worker's reports about attempts are stale. */
  const liveWorker = (workerId: string, aboutAttempt: boolean): Worker => {
    const w = workers.get(workerId);
    if (w !== undefined) return w;
    const g = gone.get(workerId);
    if (g === undefined)
      throw refuse('unknown_worker', `no worker ${workerId} is registered on this node`, 'workerId');
    const when = new Date(g.at).toISOString();
    const what =
      g.why === 'expired'
        ? `worker ${workerId} expired at ${when} (no call for ${settings.leaseMs} ms) and its tasks were handed to other agents`
        : `worker ${workerId} was unregistered at ${when}`;
    if (aboutAttempt) throw refuse('stale_attempt', `${what}: this report changes nothing`, 'workerId');
    if (g.why === 'expired') throw refuse('worker_expired', `${what}: register again`, 'workerId');
    throw refuse('unknown_worker', what, 'workerId');
  };

  const touch = (w: Worker): void => {
    w.lastSeen = now();
  };

  const assignment = (h: Held): TaskAssignment => {
    const { spec } = h.task;
    const runMs = spec.timeouts.runMs;
    return {
      taskId: h.task.id,
      epoch: h.ctx.epoch,
      attempt: h.ctx.attempt,
      idempotencyKey: h.ctx.idempotencyKey,
      type: spec.type,
      input: h.ctx.input,
      needs: spec.needs,
      priority: spec.priority,
      submittedAt: spec.submittedAt,
      startedAt: h.startedAt,
      timeouts: spec.timeouts,
      deadline: runMs === null ? null : h.startedAt + runMs,
      workflow: spec.workflow,
      ...h.trace,
    };
  };

  const take = (w: Worker, max: number): TaskAssignment[] => {
    const batch = w.queue.splice(0, max);
    for (const h of batch) h.delivered = true;
    return batch.map(assignment);
  };

  const dispatch = (w: Worker): void => {
    for (const poll of w.polls) {
      if (w.queue.length === 0) return;
      poll.finish(take(w, poll.max));
    }
  };

  const writeProgress = (h: Held): void => {
    if (h.progressTimer !== undefined) clearTimeout(h.progressTimer);
    h.progressTimer = undefined;
    const data = h.pendingProgress;
    if (data === undefined) return;
    h.pendingProgress = undefined;
    h.progressAt = now();
    try {
      h.ctx.progress(data);
    } catch (err) {
      // Checked when reported; a store that refuses writes (the node is failing) drops it.
      logger.warn({ err, task: h.task.id, epoch: h.ctx.epoch }, 'worker progress dropped');
    }
  };

  /** Takes an attempt off its worker; false when it had already ended. */
  const finish = (w: Worker, h: Held, end: EndedAttempt): boolean => {
    if (w.held.get(h.task.id) !== h) return false;
    w.held.delete(h.task.id);
    const queued = w.queue.indexOf(h);
    if (queued >= 0) w.queue.splice(queued, 1);
    if (h.progressTimer !== undefined) clearTimeout(h.progressTimer);
    remember(ended, `${h.task.id}|${h.ctx.epoch}`, end, MEMORY);
    return true;
  };

  /** The delivered attempt a report is about, or the refusal saying why the worker does not hold it. */
  const heldAttempt = (w: Worker, taskId: string, epoch: number): Held => {
    const h = w.held.get(taskId);
    if (h !== undefined && h.ctx.epoch === epoch) {
      if (h.delivered) return h;
      throw refuse(
        'not_held',
        `task ${taskId} waits for this worker's next poll: it was not delivered yet`,
        'taskId',
      );
    }
    const end = ended.get(`${taskId}|${epoch}`);
    if (end?.workerId === w.id)
      throw refuse(
        'stale_attempt',
        `the attempt of task ${taskId} at epoch ${epoch} has ended: ${end.reason}`,
        'epoch',
      );
    if (h !== undefined)
      throw refuse(
        'stale_attempt',
        `this worker holds task ${taskId} at epoch ${h.ctx.epoch}, not ${epoch}`,
        'epoch',
      );
    const t = coordinator.get(taskId);
    const state =
      t === null
        ? 'no such task is known here'
        : `it is ${t.status}${t.agent !== null ? ` (agent ${t.agent}, epoch ${t.epoch})` : ''}`;
    throw refuse('not_held', `worker ${w.id} does not hold task ${taskId}: ${state}`, 'taskId');
  };

  /** The answer already given to this verdict, when a worker sends it again (its first answer was lost). */
  const repeated = (
    w: Worker,
    taskId: string,
    epoch: number,
    outcome: ReportAnswer['outcome'],
  ): ReportAnswer | undefined => {
    const end = ended.get(`${taskId}|${epoch}`);
    return end?.workerId === w.id && end.answer?.outcome === outcome ? end.answer : undefined;
  };

  /** A reported value as the shared state will hold it, within the data limits and `maxResultBytes`. */
  const reported = (field: string, value: unknown): Value => {
    let bytes: number;
    try {
      bytes = validateValue(value, dataLimits);
    } catch (err) {
      if (err instanceof LimitExceededError)
        throw refuse('limit_exceeded', `${field}: ${err.message}`, field);
      if (err instanceof InvalidArgumentError)
        throw refuse('invalid_request', `${field}: ${err.message}`, field);
      throw err;
    }
    if (bytes > settings.maxResultBytes) {
      throw refuse(
        'limit_exceeded',
        `${field}: ${bytes} bytes encoded, more than workers.maxResultBytes (${settings.maxResultBytes})`,
        field,
      );
    }
    return value as Value;
  };

  const remove = (w: Worker, why: 'expired' | 'unregistered'): string[] => {
    workers.delete(w.id);
    agents.delete(w.agentId);
    clearTimeout(w.timer);
    remember(gone, w.id, { why, at: now() }, MEMORY);
    metrics.workers(workers.size);
    for (const poll of [...w.polls]) poll.finish([]);
    // Retired first, so the next epoch of its tasks is not claimed for it again.
    try {
      w.unregisterAgent();
    } catch (err) {
      logger.warn({ err, worker: w.id }, 'could not retire the worker agent');
    }
    const released: string[] = [];
    const reason = why === 'expired' ? 'the worker expired' : 'the worker unregistered';
    for (const h of [...w.held.values()]) {
      finish(w, h, { workerId: w.id, outcome: 'released', reason });
      released.push(h.task.id);
      try {
        h.ctx.release();
      } catch (err) {
        logger.warn({ err, task: h.task.id }, 'could not release a worker attempt');
      }
      h.reject(new Error(`worker ${w.id}: ${reason}`));
    }
    return released;
  };

  /** Expires a worker once `leaseMs` has passed since its last call. */
  const arm = (w: Worker): void => {
    w.timer = setTimeout(
      () => {
        if (workers.get(w.id) !== w) return;
        if (now() - w.lastSeen < settings.leaseMs) return arm(w);
        // Calls that arrived while the event loop was busy are read (and renew the lease) first.
        setImmediate(() => {
          if (workers.get(w.id) !== w) return;
          if (now() - w.lastSeen < settings.leaseMs) return arm(w);
          const released = remove(w, 'expired');
          metrics.expired();
          logger.warn(
            { worker: w.id, agent: w.agentId, released, leaseMs: settings.leaseMs },
            'worker expired; its tasks go to other agents',
          );
        });
      },
      Math.max(0, w.lastSeen + settings.leaseMs - now()),
    );
    w.timer.unref();
  };

  const handlerFor =
    (workerId: string) =>
    (task: TaskView, ctx: TaskContext): Promise<Value> =>
      new Promise<Value>((resolve, reject) => {
        const w = workers.get(workerId);
        if (w === undefined) {
          // Started in the turn its worker went away.
          ctx.release();
          reject(new Error(`worker ${workerId} is gone`));
          return;
        }
        const h: Held = {
          task,
          ctx,
          startedAt: now(),
          // Taken here, in the attempt's handler, where its span is the active one.
          trace: traceHeaders(),
          delivered: false,
          resolve,
          reject,
          pendingProgress: undefined,
          progressTimer: undefined,
          progressAt: 0,
        };
        const previous = w.held.get(task.id);
        if (previous !== undefined) {
          const reason = `superseded by epoch ${ctx.epoch}`;
          if (finish(w, previous, { workerId, outcome: 'aborted', reason }))
            w.aborted.push({ taskId: task.id, epoch: previous.ctx.epoch, reason });
          previous.reject(new Error(reason));
        }
        w.held.set(task.id, h);
        w.queue.push(h);
        ctx.signal.addEventListener(
          'abort',
          () => {
            const reason = reasonText(ctx.signal.reason);
            if (finish(w, h, { workerId, outcome: 'aborted', reason }))
              w.aborted.push({ taskId: task.id, epoch: ctx.epoch, reason });
            reject(new Error(reason));
          },
          { once: true },
        );
        dispatch(w);
      });

  return {
    register(registration) {
      assertRunning();
      const id = registration.id;
      if (workers.size >= settings.maxWorkers) {
        throw refuse(
          'too_many_workers',
          `${workers.size} workers are registered on this node (limit workers.maxWorkers = ${settings.maxWorkers})`,
        );
      }
      if (agents.has(id))
        throw refuse('agent_exists', `agent ${id} is already registered by another worker`, 'id');
      const elsewhere = coordinator
        .agents()
        .find((a) => a.id === id && a.node !== coordinator.replica && a.alive);
      if (elsewhere !== undefined)
        throw refuse('agent_exists', `agent ${id} is registered on node ${elsewhere.node}`, 'id');
      const workerId = `w-${randomBytes(16).toString('hex')}`;
      const capabilities = [...new Set([...(registration.capabilities ?? []), WORKER_CAPABILITY])].sort();
      const capacity = registration.capacity ?? 1;
      let agent: { unregister(): void };
      try {
        agent = coordinator.registerAgent({
          id,
          capabilities,
          capacity,
          metadata: {
            ...(registration.metadata as { [key: string]: Value } | undefined),
            node: deps.nodeName,
            worker: workerId,
          },
          handler: handlerFor(workerId),
        });
      } catch (err) {
        if (!(err instanceof CoordinatorError)) throw err;
        if (err.code === 'duplicate_agent')
          throw refuse('agent_exists', `agent ${id} is already registered on this node`, 'id');
        if (err.code === 'stopped') throw refuse('stopping', 'the node is stopping');
        const code = err.cause instanceof LimitExceededError ? 'limit_exceeded' : 'invalid_request';
        throw refuse(code, err.message, err.field);
      }
      const at = now();
      const w: Worker = {
        id: workerId,
        agentId: id,
        capabilities,
        capacity,
        registeredAt: at,
        unregisterAgent: () => agent.unregister(),
        lastSeen: at,
        held: new Map(),
        queue: [],
        polls: new Set(),
        aborted: [],
        timer: undefined,
      };
      workers.set(workerId, w);
      agents.set(id, workerId);
      arm(w);
      metrics.workers(workers.size);
      logger.info({ worker: workerId, agent: id, capabilities, capacity }, 'worker registered');
      return {
        workerId,
        agentId: id,
        capabilities,
        capacity,
        leaseMs: settings.leaseMs,
        heartbeatMs,
        maxWaitMs: settings.maxWaitMs,
        maxResultBytes: settings.maxResultBytes,
      };
    },

    async next(workerId, options = {}, signal) {
      assertRunning();
      const w = liveWorker(workerId, false);
      touch(w);
      const max = options.max ?? 1;
      const waitMs = Math.min(options.waitMs ?? settings.maxWaitMs, settings.maxWaitMs);
      if (w.queue.length > 0 || waitMs === 0 || signal?.aborted === true) return take(w, max);
      if (w.polls.size >= w.capacity) {
        throw refuse(
          'too_many_polls',
          `worker ${workerId} already has ${w.polls.size} polls open (at most its capacity, ${w.capacity})`,
        );
      }
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
    },

    undelivered(workerId, tasks) {
      const w = workers.get(workerId);
      if (w === undefined) return;
      for (const t of [...tasks].reverse()) {
        const h = w.held.get(t.taskId);
        if (h === undefined || h.ctx.epoch !== t.epoch || !h.delivered) continue;
        h.delivered = false;
        w.queue.unshift(h);
      }
      dispatch(w);
    },

    heartbeat(workerId) {
      assertRunning();
      const w = liveWorker(workerId, false);
      touch(w);
      return {
        workerId,
        leaseMs: settings.leaseMs,
        heartbeatMs,
        tasks: [...w.held.values()]
          .filter((h) => h.delivered)
          .map((h) => ({ taskId: h.task.id, epoch: h.ctx.epoch })),
        aborted: w.aborted.splice(0),
      };
    },

    progress(workerId, taskId, epoch, data) {
      const w = liveWorker(workerId, true);
      touch(w);
      const h = heldAttempt(w, taskId, epoch);
      h.pendingProgress = reported('data', data);
      const since = now() - h.progressAt;
      if (since >= PROGRESS_INTERVAL_MS) writeProgress(h);
      else h.progressTimer ??= setTimeout(() => writeProgress(h), PROGRESS_INTERVAL_MS - since);
      return { taskId, epoch, outcome: 'running' };
    },

    complete(workerId, taskId, epoch, result) {
      const w = liveWorker(workerId, true);
      touch(w);
      const again = repeated(w, taskId, epoch, 'succeeded');
      if (again !== undefined) return again;
      const h = heldAttempt(w, taskId, epoch);
      const value = reported('result', result);
      writeProgress(h);
      const answer: ReportAnswer = { taskId, epoch, outcome: 'succeeded' };
      finish(w, h, { workerId, outcome: 'succeeded', reason: 'it succeeded', answer });
      h.resolve(value);
      return answer;
    },

    fail(workerId, taskId, epoch, failure) {
      const w = liveWorker(workerId, true);
      touch(w);
      const again = repeated(w, taskId, epoch, 'failed');
      if (again !== undefined) return again;
      const h = heldAttempt(w, taskId, epoch);
      writeProgress(h);
      const answer: ReportAnswer = { taskId, epoch, outcome: 'failed' };
      finish(w, h, { workerId, outcome: 'failed', reason: 'it failed', answer });
      h.reject(
        failure.retryable ? new WorkerTaskError(failure.message) : new PermanentTaskError(failure.message),
      );
      return answer;
    },

    unregister(workerId) {
      const w = liveWorker(workerId, false);
      const released = remove(w, 'unregistered');
      logger.info({ worker: workerId, agent: w.agentId, released }, 'worker unregistered');
      return { workerId, released };
    },

    seen(workerId) {
      const w = workers.get(workerId);
      if (w !== undefined) touch(w);
    },

    list: () =>
      [...workers.values()].map((w) => ({
        workerId: w.id,
        agentId: w.agentId,
        capabilities: w.capabilities,
        capacity: w.capacity,
        registeredAt: w.registeredAt,
        lastSeenAt: w.lastSeen,
        tasks: [...w.held.values()].map((h) => ({
          taskId: h.task.id,
          epoch: h.ctx.epoch,
          delivered: h.delivered,
        })),
      })),

    hasAgent: (agentId) => agents.has(agentId),

    stop() {
      stopped = true;
      for (const w of workers.values()) {
        clearTimeout(w.timer);
        for (const poll of [...w.polls]) poll.finish([]);
      }
    },
  };
}
