import { randomBytes } from 'node:crypto';
import { CoordinatorError, PermanentTaskError } from '@meshwork/coordinator';
import { LimitExceededError, MeshworkError, type Value } from '@meshwork/core';
import { attemptHandler } from './attempt-handler.ts';
import { createAttemptHistory } from './attempt-history.ts';
import { createProgressWriter } from './held-attempt.ts';
import { armLease } from './lease.ts';
import {
  WORKER_CAPABILITY,
  type ReportAnswer,
  type WorkerService,
  type WorkerServiceDeps,
} from './protocol.ts';
import { closePolls, dispatch, openPoll, takeQueued, type PullWorker } from './pull-worker.ts';
import { createRefuse } from './refusal.ts';
import { createReportAdmission } from './report-admission.ts';
import { createWorkerTable, type Departure } from './worker-table.ts';

/** Ended attempts and ended workers remembered, to answer a late call with what became of them. */
const MEMORY = 10_000;

/** A retryable failure a worker reported. */
class WorkerTaskError extends MeshworkError {
  override readonly name = 'WorkerTaskError';
  constructor(message: string) {
    super('worker_failure', message);
  }
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
  const refuse = createRefuse(metrics);
  const table = createWorkerTable({ leaseMs: settings.leaseMs, remember: MEMORY, refuse, now });
  const history = createAttemptHistory(MEMORY);
  const admission = createReportAdmission({
    coordinator,
    history,
    maxResultBytes: settings.maxResultBytes,
    refuse,
  });
  const progress = createProgressWriter({ logger, now });
  let stopped = false;

  const assertRunning = (): void => {
    if (stopped) throw refuse('stopping', 'the node is stopping');
  };

  const touch = (w: PullWorker): void => {
    w.lastSeen = now();
  };

  const remove = (w: PullWorker, why: Departure): string[] => {
    table.delete(w, why);
    clearTimeout(w.timer);
    metrics.workers(table.size);
    closePolls(w);
    // Retired first, so the next epoch of its tasks is not claimed for it again.
    try {
      w.unregisterAgent();
    } catch (err) {
      logger.warn({ err, worker: w.id }, 'could not retire the worker agent');
    }
    const released: string[] = [];
    const reason = why === 'expired' ? 'the worker expired' : 'the worker unregistered';
    for (const h of [...w.held.values()]) {
      history.end(w, h, { workerId: w.id, outcome: 'released', reason });
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

  const lease = {
    leaseMs: settings.leaseMs,
    now,
    registered: (w: PullWorker) => table.get(w.id) === w,
    expire: (w: PullWorker) => {
      const released = remove(w, 'expired');
      metrics.expired();
      logger.warn(
        { worker: w.id, agent: w.agentId, released, leaseMs: settings.leaseMs },
        'worker expired; its tasks go to other agents',
      );
    },
  };

  return {
    register(registration) {
      assertRunning();
      const id = registration.id;
      if (table.size >= settings.maxWorkers) {
        throw refuse(
          'too_many_workers',
          `${table.size} workers are registered on this node (limit workers.maxWorkers = ${settings.maxWorkers})`,
        );
      }
      if (table.hasAgent(id))
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
          handler: attemptHandler(workerId, { table, history, now }),
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
      const w: PullWorker = {
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
      table.add(w);
      armLease(w, lease);
      metrics.workers(table.size);
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
      const w = table.live(workerId, false);
      touch(w);
      const max = options.max ?? 1;
      const waitMs = Math.min(options.waitMs ?? settings.maxWaitMs, settings.maxWaitMs);
      if (w.queue.length > 0 || waitMs === 0 || signal?.aborted === true) return takeQueued(w, max);
      if (w.polls.size >= w.capacity) {
        throw refuse(
          'too_many_polls',
          `worker ${workerId} already has ${w.polls.size} polls open (at most its capacity, ${w.capacity})`,
        );
      }
      return openPoll(w, max, waitMs, signal);
    },

    undelivered(workerId, tasks) {
      const w = table.get(workerId);
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
      const w = table.live(workerId, false);
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
      const w = table.live(workerId, true);
      touch(w);
      const h = admission.attempt(w, taskId, epoch);
      progress.report(h, admission.value('data', data));
      return { taskId, epoch, outcome: 'running' };
    },

    complete(workerId, taskId, epoch, result) {
      const w = table.live(workerId, true);
      touch(w);
      const again = history.repeated(w, taskId, epoch, 'succeeded');
      if (again !== undefined) return again;
      const h = admission.attempt(w, taskId, epoch);
      const value = admission.value('result', result);
      progress.flush(h);
      const answer: ReportAnswer = { taskId, epoch, outcome: 'succeeded' };
      history.end(w, h, { workerId, outcome: 'succeeded', reason: 'it succeeded', answer });
      h.resolve(value);
      return answer;
    },

    fail(workerId, taskId, epoch, failure) {
      const w = table.live(workerId, true);
      touch(w);
      const again = history.repeated(w, taskId, epoch, 'failed');
      if (again !== undefined) return again;
      const h = admission.attempt(w, taskId, epoch);
      progress.flush(h);
      const answer: ReportAnswer = { taskId, epoch, outcome: 'failed' };
      history.end(w, h, { workerId, outcome: 'failed', reason: 'it failed', answer });
      h.reject(
        failure.retryable ? new WorkerTaskError(failure.message) : new PermanentTaskError(failure.message),
      );
      return answer;
    },

    unregister(workerId) {
      const w = table.live(workerId, false);
      const released = remove(w, 'unregistered');
      logger.info({ worker: workerId, agent: w.agentId, released }, 'worker unregistered');
      return { workerId, released };
    },

    seen(workerId) {
      const w = table.get(workerId);
      if (w !== undefined) touch(w);
    },

    list: () =>
      [...table.values()].map((w) => ({
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

    hasAgent: (agentId) => table.hasAgent(agentId),

    stop() {
      stopped = true;
      for (const w of table.values()) {
        clearTimeout(w.timer);
        closePolls(w);
      }
    },
  };
}
