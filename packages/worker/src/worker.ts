import { RefusalError, registrationLost } from './errors.ts';
import { FIRST_RETRY_MS, MAX_RETRY_MS, pause } from './pause.ts';
import { createDaemonCalls, type AgentSpec, type Session, type WorkerTask } from './protocol.ts';
import { asError, reportVerdict, verdictOf, type Verdict } from './verdict.ts';

/** What a handler gets besides the task. */
export interface TaskContext {
  /**
   * Aborts when the daemon takes the task back (cancelled, run timeout, fenced by a newer
   * attempt), when the registration is lost, or when `stop()` stops waiting for it. A result
   * returned after that is not reported.
   */
  readonly signal: AbortSignal;
  /** Fencing token of this attempt: pass it to sinks that must refuse stale writers. */
  readonly epoch: number;
  /** The same for every attempt of the task: lets a sink apply an effect once. */
  readonly idempotencyKey: string;
  readonly attempt: number;
  /** Reports progress (last value wins). Never rejects: a refusal aborts `signal`. */
  progress(data: unknown): Promise<void>;
}

/** Returns the result (plain JSON; `undefined` is `null`); throws to fail the attempt. */
export type TaskHandler = (task: WorkerTask, ctx: TaskContext) => unknown;

/** What a worker handled by itself, for logs. */
export type WorkerEvent =
  | { readonly type: 'registered'; readonly workerId: string }
  /** The daemon took a task back; its handler's signal aborted. */
  | { readonly type: 'aborted'; readonly taskId: string; readonly epoch: number; readonly reason: string }
  /** A report was refused (e.g. `stale_attempt` for a result that came too late): it changed nothing. */
  | {
      readonly type: 'refused';
      readonly taskId: string;
      readonly epoch: number;
      readonly call: 'progress' | 'complete' | 'fail';
      readonly error: RefusalError;
    }
  /** A call failed (network, daemon unavailable) and will be retried. */
  | { readonly type: 'error'; readonly error: Error };

export interface WorkerOptions {
  /** The daemon's API, e.g. `http://127.0.0.1:7070`. */
  readonly url: string;
  readonly apiKey: string;
  readonly agent: AgentSpec;
  readonly handler: TaskHandler;
  /** Longest wait of one poll; default and cap: the daemon's `workers.maxWaitMs`. */
  readonly pollWaitMs?: number;
  readonly onEvent?: (event: WorkerEvent) => void;
  readonly fetch?: typeof fetch;
}

export interface Worker {
  /** The current registration's id (a new one after the daemon expired the last). */
  readonly workerId: string;
  readonly session: Session;
  /** Tasks whose handler is running. */
  readonly running: number;
  /**
   * Stops taking tasks, gives running handlers up to `drainMs` (default 30 000) to finish and
   * report, aborts the rest, and unregisters: the daemon hands what is left to other agents at once.
   */
  stop(options?: { readonly drainMs?: number }): Promise<void>;
}

interface Running {
  readonly epoch: number;
  readonly controller: AbortController;
  readonly done: Promise<void>;
}

/**
 * Registers `agent` with the daemon at `url` and runs `handler` on the tasks it is given, at
 * most `agent.capacity` at once: long-polls for tasks, heartbeats every `heartbeatMs` the
 * daemon asks for, reports results and failures (retrying on network errors), and registers
 * again if the daemon expired it. Resolves once registered.
 */
export async function createWorker(options: WorkerOptions): Promise<Worker> {
  const calls = createDaemonCalls(options);
  const emit = (event: WorkerEvent): void => {
    options.onEvent?.(event);
  };
  let session = await calls.register(options.agent);
  emit({ type: 'registered', workerId: session.workerId });

  let state: 'running' | 'draining' | 'stopped' = 'running';
  /** Aborts the poll in flight and every wait of the loops when stop() begins. */
  const stopping = new AbortController();
  const running = new Map<string, Running>();
  let slotFreed: (() => void) | undefined;
  const freeSlot = (): void => {
    const wake = slotFreed;
    slotFreed = undefined;
    wake?.();
  };

  let reregistering: Promise<void> | undefined;
  /** The daemon forgot this worker: its tasks went to other agents, so their handlers stop, and it registers anew. */
  const registerAgain = (): Promise<void> =>
    (reregistering ??= (async () => {
      for (const r of running.values()) r.controller.abort(new Error('the worker registration expired'));
      let delay = FIRST_RETRY_MS;
      while (state === 'running') {
        try {
          session = await calls.register(options.agent);
          emit({ type: 'registered', workerId: session.workerId });
          return;
        } catch (err) {
          emit({ type: 'error', error: asError(err) });
          await pause(delay, stopping.signal);
          delay = Math.min(delay * 2, MAX_RETRY_MS);
        }
      }
    })().finally(() => (reregistering = undefined)));

  let heartbeatTimer: NodeJS.Timeout | undefined;
  const beat = async (): Promise<void> => {
    const started = Date.now();
    try {
      const answer = await calls.heartbeat(session.workerId);
      for (const a of answer.aborted) {
        const r = running.get(a.taskId);
        if (r === undefined || r.epoch !== a.epoch) continue;
        r.controller.abort(new Error(a.reason));
        emit({ type: 'aborted', taskId: a.taskId, epoch: a.epoch, reason: a.reason });
      }
    } catch (err) {
      if (registrationLost(err)) await registerAgain();
      else emit({ type: 'error', error: asError(err) });
    }
    // Beats go on while draining: the lease must hold until the running tasks have reported.
    if (state !== 'stopped')
      heartbeatTimer = setTimeout(
        () => void beat(),
        Math.max(0, session.heartbeatMs - (Date.now() - started)),
      );
  };
  heartbeatTimer = setTimeout(() => void beat(), session.heartbeatMs);

  const report = (owner: string, task: WorkerTask, verdict: Verdict): Promise<void> =>
    reportVerdict(
      {
        calls,
        refused: (error, call) =>
          emit({ type: 'refused', taskId: task.taskId, epoch: task.epoch, call, error }),
        failed: (error) => emit({ type: 'error', error }),
      },
      owner,
      task,
      verdict,
    );

  const start = (task: WorkerTask): void => {
    const owner = session.workerId;
    const controller = new AbortController();
    const ctx: TaskContext = {
      signal: controller.signal,
      epoch: task.epoch,
      idempotencyKey: task.idempotencyKey,
      attempt: task.attempt,
      progress: async (data) => {
        if (controller.signal.aborted) return;
        try {
          await calls.progress(owner, task.taskId, task.epoch, data);
        } catch (err) {
          if (!(err instanceof RefusalError)) return emit({ type: 'error', error: asError(err) });
          emit({ type: 'refused', taskId: task.taskId, epoch: task.epoch, call: 'progress', error: err });
          if (err.status === 409) controller.abort(new Error(err.message));
        }
      },
    };
    const done = (async () => {
      const verdict = await verdictOf(() => options.handler(task, ctx));
      // Taken back by the daemon, or given up on by stop(): the task is someone else's now.
      if (controller.signal.aborted) return;
      await report(owner, task, verdict);
    })().finally(() => {
      if (running.get(task.taskId)?.controller === controller) running.delete(task.taskId);
      freeSlot();
    });
    running.set(task.taskId, { epoch: task.epoch, controller, done });
  };

  const polling = (async () => {
    let delay = FIRST_RETRY_MS;
    while (state === 'running') {
      if (running.size >= session.capacity) {
        await new Promise<void>((resolve) => (slotFreed = resolve));
        continue;
      }
      try {
        const waitMs = Math.min(options.pollWaitMs ?? session.maxWaitMs, session.maxWaitMs);
        const max = session.capacity - running.size;
        const tasks = await calls.poll(session.workerId, { waitMs, max }, stopping.signal);
        delay = FIRST_RETRY_MS;
        // Tasks that arrive as the worker stops are released by its unregistration.
        if (state === 'running') for (const t of tasks) start(t);
      } catch (err) {
        if (state !== 'running') return;
        if (registrationLost(err)) {
          await registerAgain();
          continue;
        }
        emit({ type: 'error', error: asError(err) });
        await pause(delay, stopping.signal);
        delay = Math.min(delay * 2, MAX_RETRY_MS);
      }
    }
  })();

  let stopped: Promise<void> | undefined;
  return {
    get workerId() {
      return session.workerId;
    },
    get session() {
      return session;
    },
    get running() {
      return running.size;
    },
    stop({ drainMs = 30_000 } = {}) {
      return (stopped ??= (async () => {
        state = 'draining';
        stopping.abort();
        freeSlot();
        await polling;
        const drained = Promise.all([...running.values()].map((r) => r.done));
        const drainOver = new AbortController();
        await Promise.race([drained, pause(drainMs, drainOver.signal)]);
        drainOver.abort();
        for (const r of running.values()) r.controller.abort(new Error('the worker is stopping'));
        await reregistering;
        state = 'stopped';
        clearTimeout(heartbeatTimer);
        try {
          await calls.unregister(session.workerId);
        } catch (err) {
          if (!registrationLost(err)) emit({ type: 'error', error: asError(err) });
        }
      })());
    },
  };
}
