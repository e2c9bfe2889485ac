import type { ReplicaId, Value } from '@meshwork/core';
import type { Clock } from '../clock.ts';
import { CoordinatorError } from '../errors.ts';
import type { Emitter } from '@meshwork/core';
import type { CoordinatorEvents } from '../events.ts';
import {
  checkData,
  type AgentId,
  type AttemptEnd,
  type AttemptOutcome,
  type Claim,
  type TaskId,
  type TaskSpec,
} from '../model.ts';
import type { ResourcePools } from '../resources.ts';
import type { DerivedTask } from '../status.ts';
import type { RecordWrite } from '../store.ts';
import { agentAttemptKey, attemptKey, expiryRecord } from '../stored-records.ts';
import type { TaskIndex } from '../task-index.ts';
import type { LocalAgents } from './agents.ts';
import type { AttemptLog } from './attempt-log.ts';
import { PermanentTaskError, type TaskContext } from './api.ts';
import type { Phase } from './phase.ts';
import type { AttemptSpan, TaskTracing } from './task-tracing.ts';
import { taskView } from './task-view.ts';

/**
 * The attempts running on this node: starting a handler, renewing its lease, aborting it
 * (cancelled, timed out, fenced by a newer epoch, released at stop) and recording its end.
 * Starts and ends go to the attempt log, which the next pass writes.
 */
export interface AttemptRunner {
  /** Whether this node runs an attempt of the task's epoch: it runs at most one. */
  runs(task: TaskId, epoch: number): boolean;
  /** Whether this node runs any attempt of the task. */
  runsTask(task: TaskId): boolean;
  readonly size: number;
  /**
   * Starts the winner's attempt here, or hands its epoch on with an expiry in `writes` when it
   * cannot run here (agent gone, stopping, resources taken meanwhile). The caller checks `runs` first.
   */
  start(spec: TaskSpec, d: DerivedTask, winner: Claim, writes: RecordWrite[]): void;
  /** Aborts this node's attempts of a task that was cancelled, finished or moved to a newer epoch. */
  fence(id: TaskId, d: DerivedTask): void;
  /** Settles when every attempt running now has ended. */
  drained(): Promise<unknown>;
  /** Aborts every attempt as released; returns the expiries that hand their epochs on. */
  release(): RecordWrite[];
  /** Aborts every attempt as released, writing nothing (the store refused the release). */
  abortAll(): void;
  /** Calls `listener` after every end: the end waits in the log for a pass to write it. */
  onEnded(listener: () => void): void;
}

export interface AttemptRunnerDeps {
  readonly replica: ReplicaId;
  readonly clock: Clock;
  readonly leaseMs: number;
  readonly index: TaskIndex;
  readonly log: AttemptLog;
  readonly pools: ResourcePools;
  readonly events: Emitter<CoordinatorEvents>;
  readonly agents: Pick<LocalAgents, 'get'>;
  readonly phase: Readonly<Phase>;
  readonly tracing: Pick<TaskTracing, 'attempt'>;
  readonly write: (records: readonly RecordWrite[]) => void;
}

interface RunningAttempt {
  readonly task: TaskId;
  readonly epoch: number;
  readonly agent: AgentId;
  readonly startedAt: number;
  readonly controller: AbortController;
  abortReason: 'cancelled' | 'timed-out' | 'fenced' | 'released' | null;
  readonly timers: (() => void)[];
  readonly release: () => void;
  readonly done: Promise<void>;
  readonly span: AttemptSpan;
}

function errorText(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

export function createAttemptRunner(deps: AttemptRunnerDeps): AttemptRunner {
  const { replica, clock, leaseMs, index, log, pools, events, agents, phase, tracing, write } = deps;
  const running = new Map<string, RunningAttempt>();
  /** Attempts running here, per task: which tasks `running` holds, without building its keys. */
  const runningPerTask = new Map<TaskId, number>();
  const ended = new Set<() => void>();

  function start(spec: TaskSpec, d: DerivedTask, winner: Claim, writes: RecordWrite[]): void {
    const key = attemptKey(spec.id, d.epoch);
    const now = clock.now();
    const agent = agents.get(winner.agent);
    const release = agent === undefined || phase.stopping ? null : pools.tryAcquire(spec.resources);
    if (agent === undefined || release === null) {
      writes.push(expiryRecord(spec.id, d.epoch, now, replica));
      return;
    }
    const base = { task: spec.id, epoch: d.epoch, agent: winner.agent, node: replica };
    const controller = new AbortController();
    const timers: (() => void)[] = [];
    let finish: () => void = () => {};
    const attempt: RunningAttempt = {
      task: spec.id,
      epoch: d.epoch,
      agent: winner.agent,
      startedAt: now,
      controller,
      abortReason: null,
      timers,
      release,
      done: new Promise<void>((resolve) => (finish = resolve)),
      span: tracing.attempt(spec, d.epoch, winner.agent, d.attemptsUsed + 1),
    };
    running.set(key, attempt);
    runningPerTask.set(spec.id, (runningPerTask.get(spec.id) ?? 0) + 1);
    // The start record goes out with the next pass, with the ends of the attempts that finished by then.
    log.started(key, {
      kind: 'start',
      key: agentAttemptKey(spec.id, d.epoch, winner.agent),
      value: { ...base, startedAt: now, until: now + leaseMs },
    });
    const renew = (): void => {
      if (attempt.abortReason !== null || !running.has(key)) return;
      const at = clock.now();
      write([
        {
          kind: 'lease',
          key: agentAttemptKey(spec.id, d.epoch, winner.agent),
          value: { ...base, until: at + leaseMs, at },
        },
      ]);
      timers.push(clock.setTimer(renew, leaseMs / 3));
    };
    timers.push(clock.setTimer(renew, leaseMs / 3));
    if (spec.timeouts.runMs !== null)
      timers.push(clock.setTimer(() => abort(attempt, 'timed-out'), spec.timeouts.runMs));
    events.emit('start', [
      {
        task: spec.id,
        epoch: d.epoch,
        agent: winner.agent,
        submittedAt: spec.submittedAt,
        at: now,
      },
    ]);

    const ctx: TaskContext = {
      input: spec.input,
      signal: controller.signal,
      epoch: d.epoch,
      attempt: d.attemptsUsed + 1,
      idempotencyKey: spec.idempotencyKey,
      progress(data) {
        if (attempt.abortReason !== null || !running.has(key)) return;
        checkData('progress', data);
        write([{ kind: 'progress', key: spec.id, value: { ...base, at: clock.now(), data } }]);
        attempt.span.progress();
      },
      release() {
        if (attempt.abortReason !== null || running.get(key) !== attempt) return;
        // The start goes out with the expiry, so the history shows the attempt that was handed back.
        const start = log.takeStart(key);
        abort(attempt, 'released');
        write([
          ...(start === undefined ? [] : [start]),
          expiryRecord(spec.id, d.epoch, clock.now(), replica),
        ]);
      },
    };
    const view = taskView(index, spec.id, d);
    void Promise.resolve()
      .then(() => attempt.span.run(() => agent.handler(view, ctx)))
      .then(
        (result) => {
          const value = result ?? null;
          try {
            checkData('result', value);
          } catch (e) {
            // Retrying would produce the same result: the attempt fails for good.
            end(attempt, 'failed', null, errorText(e), false);
            return;
          }
          end(attempt, 'succeeded', value, null, true);
        },
        (e: unknown) => {
          const reason = attempt.abortReason;
          const outcome: AttemptOutcome = reason === null || reason === 'released' ? 'failed' : reason;
          end(attempt, outcome, null, errorText(e), !(e instanceof PermanentTaskError));
        },
      )
      .finally(finish);
  }

  function abort(a: RunningAttempt, reason: NonNullable<RunningAttempt['abortReason']>): void {
    if (a.abortReason !== null) return;
    a.abortReason = reason;
    a.controller.abort(new CoordinatorError('stopped', `attempt ${reason}`));
  }

  function end(
    a: RunningAttempt,
    outcome: AttemptOutcome,
    result: Value,
    error: string | null,
    retryable: boolean,
  ): void {
    const key = attemptKey(a.task, a.epoch);
    if (running.get(key) !== a) return;
    running.delete(key);
    const others = runningPerTask.get(a.task)! - 1;
    if (others > 0) runningPerTask.set(a.task, others);
    else runningPerTask.delete(a.task);
    log.dropStart(key);
    for (const cancel of a.timers) cancel();
    a.release();
    a.span.end(outcome, error);
    const record: AttemptEnd = {
      task: a.task,
      epoch: a.epoch,
      agent: a.agent,
      node: replica,
      startedAt: a.startedAt,
      endedAt: clock.now(),
      outcome,
      result,
      error,
      retryable,
    };
    // A released attempt's epoch was already handed on with an expiry; only a success is still worth keeping.
    // A task removed meanwhile (finished and retained long enough) needs no record of it.
    if ((a.abortReason !== 'released' || outcome === 'succeeded') && index.spec(a.task) !== null) {
      log.ended(record);
      // No pass runs after stop(): this attempt's end and its history go out now.
      if (phase.stopped) {
        try {
          log.flushNow();
        } catch {
          // The store refuses writes after stop() (its event log failed): the end is lost as in a crash.
        }
      }
    }
    // The history row is the record without the handler's result and retry flag.
    const { result: _result, retryable: _retryable, ...row } = record;
    events.emit('attempt', [{ ...row, attempt: record.epoch }]);
    for (const listener of ended) listener();
  }

  return {
    runs: (task, epoch) => running.has(attemptKey(task, epoch)),
    runsTask: (task) => runningPerTask.has(task),
    get size() {
      return running.size;
    },
    start,
    fence(id, d) {
      // This node runs at most one attempt per epoch of a task, and only epochs up to the current one.
      if (!runningPerTask.has(id)) return;
      for (let epoch = 1; epoch <= d.epoch; epoch++) {
        const a = running.get(attemptKey(id, epoch));
        if (a === undefined || a.abortReason !== null) continue;
        const records = index.records(id)!;
        const superseded = d.epoch > a.epoch || records.expiries.some((x) => x.epoch === a.epoch);
        if (d.status === 'cancelled') abort(a, 'cancelled');
        else if (superseded || d.status === 'succeeded' || d.status === 'failed') abort(a, 'fenced');
      }
    },
    drained: () => Promise.all([...running.values()].map((a) => a.done)),
    release() {
      const writes: RecordWrite[] = [];
      for (const a of running.values()) {
        abort(a, 'released');
        writes.push(expiryRecord(a.task, a.epoch, clock.now(), replica));
      }
      return writes;
    },
    abortAll() {
      for (const a of running.values()) abort(a, 'released');
    },
    onEnded: (listener) => void ended.add(listener),
  };
}
