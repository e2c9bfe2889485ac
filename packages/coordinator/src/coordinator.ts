import type { Document, ReplicaId, Value } from '@meshwork/core';
import { systemClock } from './clock.ts';
import { createDelayEstimator, defaultSettle } from './delay.ts';
import { covers } from './eligibility.ts';
import { CoordinatorError, invalid } from './errors.ts';
import { createEmitter, type CoordinatorEvents } from './events.ts';
import { DueQueue } from './due-queue.ts';
import { hashId } from './hash.ts';
import {
  checkData,
  checkName,
  parseSubmit,
  type AgentId,
  type AgentInfo,
  type AttemptEnd,
  type AttemptOutcome,
  type Claim,
  type TaskId,
  type TaskSpec,
} from './model.ts';
import { createPhiDetector } from './phi.ts';
import { agentAttemptKey, attemptKey, expiryRecord, storedRecord, taskRecord } from './stored-records.ts';
import { createRetention, parseRetention } from './retention.ts';
import { createDocumentPools } from './document-pools.ts';
import { createDocumentStore } from './document-store.ts';
import { createDocumentHistory } from './history.ts';
import { noPools, type ResourceNeeds } from './resources.ts';
import type { AgentStats } from './scoring.ts';
import { terminalStatuses, type DerivedTask, type TaskStatus } from './status.ts';
import {
  recordKinds,
  type CoordinationStore,
  type RecordChange,
  type RecordWrite,
  type StoreChanges,
} from './store.ts';
import { createTaskIndex } from './task-index.ts';
import {
  PermanentTaskError,
  type Coordinator,
  type CoordinatorOptions,
  type TaskContext,
  type TaskHandler,
  type TaskView,
} from './coordinator/api.ts';
import { attemptRows } from './coordinator/attempt-rows.ts';
import { decideClaims, type ReadyTask } from './coordinator/claims.ts';
import { taskView } from './coordinator/task-view.ts';
import { createWorkflows } from './workflows.ts';

interface LocalAgent {
  readonly info: AgentInfo;
  readonly handler: TaskHandler;
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
}

function errorText(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

function documentStore(document: Document | undefined): CoordinationStore {
  if (document === undefined) throw invalid('options.document', 'a Document (or a store) is required');
  return createDocumentStore(document);
}

/** What watchers and the `settled` event were last told of a task. */
interface SeenState {
  readonly status: TaskStatus;
  readonly epoch: number;
  readonly agent: AgentId | null;
  readonly progressAt: number | null;
}

export function createCoordinator(options: CoordinatorOptions): Coordinator {
  if (typeof options !== 'object' || options === null) throw invalid('options', 'must be an object');
  const { document, presence } = options;
  const store: CoordinationStore = options.store ?? documentStore(document);
  if (presence === undefined) throw invalid('options.presence', 'a PresenceChannel is required');
  const clock = options.clock ?? systemClock;
  const replica = store.replica;
  const settleOptions = { ...defaultSettle, ...options.settle };
  const leaseMs = options.lease?.durationMs ?? 3000;
  const graceMs = options.lease?.graceMs ?? 500;
  const heartbeatMs = options.heartbeatMs ?? 250;
  const agingMs = options.agingMs ?? 60_000;
  const tickMs = options.tickMs ?? 10;
  const retentionOptions = parseRetention(options.retention);
  /** Finished tasks are looked at this often; at most `removalLimit` go per look, `removalBatch` per event. */
  const sweepMs = Math.min(250, Math.max(tickMs, retentionOptions.finishedMs / 4));
  const removalLimit = 2_500;
  const removalBatch = 200;
  const pools = options.resources ?? (document === undefined ? noPools : createDocumentPools(document));
  const history =
    options.history ?? (document === undefined ? undefined : createDocumentHistory(document, { clock }));
  const statsOf = (agent: AgentId, now: number): AgentStats =>
    history?.stats(agent, now) ?? index.stats(agent);
  const phi = createPhiDetector(options.phi);
  const delay = createDelayEstimator(settleOptions, () => clock.now());
  const index = createTaskIndex(store);
  const events = createEmitter<CoordinatorEvents>();
  const local = new Map<AgentId, LocalAgent>();
  const running = new Map<string, RunningAttempt>();
  /** Attempts running here, per task: which tasks `running` holds, without building its keys. */
  const runningPerTask = new Map<TaskId, number>();
  const watchers = new Set<{ listener: (t: TaskView) => void; task: TaskId | undefined }>();
  const lastSeen = new Map<TaskId, SeenState>();
  /**
   * Claims held back because another node ranks first: when this replica may step in. Not
   * re-ranked before then, which keeps a pass cheap however many tasks are waiting.
   */
  const heldBack = new Map<TaskId, { readonly epoch: number; readonly until: number }>();
  const dirty = new Set<TaskId>();
  /** Attempts that ended here and are not written yet (see flushAttempts). */
  const finished: AttemptEnd[] = [];
  /** Attempts started here whose start record is not written yet (see flushAttempts). */
  const unwrittenStarts = new Map<RunningAttempt, RecordWrite>();
  /** Claims this incarnation made and has not acted on yet, one per task; only these may start here. */
  const ownClaims = new Map<TaskId, { readonly epoch: number; readonly agent: AgentId }>();
  const isOwnClaim = (id: TaskId, epoch: number, agent: AgentId): boolean => {
    const own = ownClaims.get(id);
    return own !== undefined && own.epoch === epoch && own.agent === agent;
  };
  let idCounter = 0;
  let caughtUp = options.catchUp === undefined;
  let stopping = false;
  let stopped = false;
  let stopDone: Promise<void> | null = null;
  let cancelTick: (() => void) | null = null;
  let tickAt = Infinity;
  let lastTick = -Infinity;
  let cancelHeartbeat: (() => void) | null = null;
  let nextSweep = -Infinity;
  /** Open tasks by when a pass must look at them again though none of their records changed. */
  const checkAt = new DueQueue<TaskId>();
  /**
   * Pending tasks whose next attempt may be claimed now, most urgent first. Urgency is priority
   * plus one point per `agingMs` waited, and tasks age alike, so their order holds over time:
   * keyed by submit time in aging periods minus priority, a pass takes the few it can claim from
   * the front instead of sorting every waiting task.
   */
  const ready = new DueQueue<TaskId>();
  const urgency = (spec: TaskSpec): number => spec.submittedAt / agingMs - spec.priority;
  /** The nodes suspected at the last pass. */
  let lastSuspects = '';

  const nodeAlive = (node: ReplicaId, now: number): boolean => node === replica || phi.isAlive(node, now);
  /** Heard from, then silent. A node never heard from (we just started) is left to its lease. */
  const nodeSuspected = (node: ReplicaId, now: number): boolean =>
    node !== replica && phi.knows(node) && !phi.isAlive(node, now);

  // ---- change intake -------------------------------------------------------

  function onChanges(changes: StoreChanges, isLocal: boolean): void {
    if (changes === 'all') return reload();
    const { tasks, workflows, malformed, claims } = index.apply(changes);
    if (!isLocal) {
      // Delivery delay: receive time minus the writer's stamp, for claims of other nodes. Not starts:
      // a start record is written with the pass after the attempt started.
      const now = clock.now();
      for (const c of claims) if (c.node !== replica) delay.sample(now - c.at);
    }
    if (malformed > 0) events.emit('malformed', { count: malformed });
    for (const t of tasks) for (const id of index.invalidate(t)) dirty.add(id);
    for (const run of workflows) workflowsApi.markDirty(run);
    schedule(0);
  }

  /** Loads the whole store again (a snapshot was merged): any record may have changed or gone. */
  function reload(): void {
    const known = [...index.taskIds(), ...index.orphans()];
    index.clear();
    onChanges(allRecords(), true);
    for (const id of known) dirty.add(id);
    schedule(0);
  }

  const allRecords = (): RecordChange[] =>
    recordKinds.flatMap((kind) => [...store.entries(kind)].map(([key]) => ({ kind, key })));

  /** Writes records as one transaction, each in its stored form (see stored-records.ts). */
  const write = (records: readonly RecordWrite[]): void =>
    store.write(records.map((r) => ({ kind: r.kind, key: r.key, value: storedRecord(r.kind, r.value) })));

  const unsubscribeStore = store.onChange(onChanges);
  const unsubscribePresence = presence.onPresence((peer, state) => {
    if (state === null) phi.forget(peer);
    else {
      phi.heartbeat(peer, clock.now());
      const wants = state['wants'];
      if (
        pools.grant !== undefined &&
        typeof wants === 'object' &&
        wants !== null &&
        !Array.isArray(wants) &&
        Object.keys(wants).length > 0
      ) {
        pools.grant(peer, wants as ResourceNeeds);
      }
    }
    schedule(0);
  });

  // ---- scheduling ----------------------------------------------------------

  /**
   * Writes the attempts that started or ended since the last pass, with their history points, as
   * one transaction: one event for many attempts instead of two per task. An attempt that ended
   * before this gets no start record: its end, written in the same event, says all the start would.
   */
  function flushAttempts(): void {
    if (finished.length === 0 && unwrittenStarts.size === 0) return;
    const batch = finished.splice(0);
    const starts = [...unwrittenStarts.values()];
    unwrittenStarts.clear();
    const writeEnds = (): void => {
      write([
        ...starts,
        ...batch.map((r) => ({
          kind: 'end' as const,
          key: agentAttemptKey(r.task, r.epoch, r.agent),
          value: { ...r },
        })),
      ]);
      history?.record(batch);
    };
    if (store.transact === undefined) writeEnds();
    else store.transact(writeEnds);
  }

  /** Writes started and ended attempts and the history tallies at once, not with the next pass. */
  function flushNow(): void {
    try {
      flushAttempts();
    } finally {
      // Also when the store refuses the attempts: no history timer may outlive stop().
      history?.flush();
    }
  }

  /** Schedules the scheduling pass; passes are at least `tickMs` apart, so bursts of changes share one. */
  function schedule(inMs: number): void {
    if (stopped) return;
    const now = clock.now();
    const at = Math.max(now + Math.max(0, inMs), lastTick + tickMs);
    if (at >= tickAt) return;
    cancelTick?.();
    tickAt = at;
    cancelTick = clock.setTimer(tick, at - now);
  }

  function tick(): void {
    cancelTick = null;
    const planned = tickAt;
    tickAt = Infinity;
    if (stopped) return;
    const now = clock.now();
    lastTick = now;
    const writes: RecordWrite[] = [];
    let wake = now + heartbeatMs;
    const wakeAt = (t: number): void => void (wake = Math.min(wake, t));

    flushAttempts();
    const changed = [...dirty];
    for (const id of changed) refresh(id);
    dirty.clear();
    writes.push(...workflowsApi.advance());

    /** Tasks this replica has won, by what it has read so far. */
    const decided: TaskId[] = [];
    // Before catching up, nothing is decided from what may be a stale state (see options.catchUp).
    if (caughtUp) {
      for (const id of tasksToExamine(changed, now)) {
        ready.delete(id);
        const next = examine(id, now, writes, decided);
        if (next === Infinity) checkAt.delete(id);
        else checkAt.set(id, next);
      }
      const due = checkAt.peek();
      if (due !== undefined) wakeAt(due.at);
      if (!stopping && ready.size > 0 && localRoom((a) => index.load(a))) claim(now, writes, wakeAt);
    }
    // A pass runs off a timer, before the event loop reads the network: claims that arrived while
    // this replica was busy are still unread. When the pass ran late by more than the settle
    // margin allows for, it starts its tasks only once those are read, so a busy replica does not
    // start a task that a claim it has not read yet gives to another node.
    if (decided.length > 0) {
      if (now - planned > delay.settleMs() / 4) clock.setTimer(() => startDecided(decided), 0);
      else startDecided(decided, writes);
    }
    if (writes.length > 0) write(writes);
    if (now >= nextSweep) {
      nextSweep = now + sweepMs;
      removeFinished(now);
    }
    if (unwrittenStarts.size > 0) wakeAt(now);
    const retaining = index.size > index.openTasks().size || index.orphans().size > 0;
    if (retaining) wakeAt(nextSweep);
    if (local.size > 0 || running.size > 0 || index.openTasks().size > 0 || retaining) schedule(wake - now);
  }

  /**
   * Whether a local agent has room, by `load` (the index's, or the index's plus this pass's claims),
   * and covers `needs` (a task's other conditions come with ranking).
   */
  function localRoom(load: (agent: AgentId) => number, needs: readonly string[] = []): boolean {
    for (const a of local.values())
      if (load(a.info.id) < a.info.capacity && covers(a.info.capabilities, needs)) return true;
    return false;
  }

  /**
   * The open tasks a pass looks at: those whose records changed and those due by time (a
   * decision, a lease end, a backoff, a deadline). All of them when a node turned suspected or
   * alive again, since that decides whether its tasks are lost. Tasks ready for a claim wait in
   * `ready`, and claim() takes them from its front.
   */
  function tasksToExamine(changed: readonly TaskId[], now: number): Iterable<TaskId> {
    const suspects = [...phi.peers()].filter((node) => nodeSuspected(node, now)).join(' ');
    if (suspects !== lastSuspects) {
      lastSuspects = suspects;
      return [...index.openTasks()];
    }
    const out = new Set<TaskId>(changed);
    for (let due = checkAt.peek(); due !== undefined && due.at <= now; due = checkAt.peek())
      out.add(checkAt.shift()!.key);
    return out;
  }

  /**
   * Looks at one task: queues it in `ready` or collects it into `decided`, or writes what its state calls
   * for (a schedule-to-start timeout, an expiry of a silent holder). Returns when it must be looked
   * at again if none of its records changes meanwhile (Infinity: only on a change).
   */
  function examine(id: TaskId, now: number, writes: RecordWrite[], decided: TaskId[]): number {
    const d = index.derive(id);
    if (d === null || terminalStatuses.has(d.status)) return Infinity;
    const spec = index.spec(id)!;
    let next = Infinity;
    const toStart = spec.timeouts.scheduleToStartMs;
    if (toStart !== null && !d.started && index.records(id)!.startTimeout === null) {
      const deadline = spec.submittedAt + toStart;
      if (now >= deadline)
        writes.push({ kind: 'timeout', key: id, value: { task: id, at: now, by: replica } });
      else next = deadline;
    }
    if (d.status === 'pending') {
      // Held back for a higher-ranked node: looked at again when the hold ends, not in every pass.
      const held = heldBack.get(id);
      if (held?.epoch === d.epoch + 1 && now < held.until) return Math.min(next, held.until);
      // A task waiting for its dependencies is queued once they have succeeded (their change re-examines it).
      if (d.nextAttemptAt !== null && d.nextAttemptAt <= now) {
        if (dependenciesSucceeded(spec)) ready.set(id, urgency(spec));
      } else if (d.nextAttemptAt !== null) next = Math.min(next, d.nextAttemptAt);
      return next;
    }
    const winner = d.winner!;
    const key = attemptKey(id, d.epoch);
    if (d.status === 'claimed' && isOwnClaim(id, d.epoch, winner.agent)) {
      if (now < d.decidesAt!) return Math.min(next, d.decidesAt!);
      decided.push(id);
      // Looked at again next pass, in case the start is deferred (see tick) and then not made.
      return now;
    }
    if (running.has(key)) return next;
    // The holder went silent: lease past due (or never taken), its node suspected, or it is this
    // node's former incarnation (a restart), whose attempts and claims died with it.
    const holder = d.lease?.node ?? d.start?.node ?? winner.node;
    const leaseEnd = (d.lease?.until ?? d.decidesAt! + leaseMs) + graceMs;
    const lost =
      holder === replica
        ? d.status === 'running' || now >= leaseEnd
        : now >= leaseEnd || nodeSuspected(holder, now);
    if (!lost) return Math.min(next, leaseEnd);
    writes.push(expiryRecord(id, d.epoch, now, replica));
    events.emit('failover', { task: id, epoch: d.epoch, agent: winner.agent, node: holder, at: now });
    return next;
  }

  /** Starts the tasks this replica still wins, now that what arrived meanwhile has been read. */
  function startDecided(ids: readonly TaskId[], into?: RecordWrite[]): void {
    if (stopped) return;
    const now = clock.now();
    const writes = into ?? [];
    for (const id of ids) {
      const d = index.derive(id);
      if (d === null || d.status !== 'claimed' || d.winner === null || now < d.decidesAt!) continue;
      if (!isOwnClaim(id, d.epoch, d.winner.agent)) continue;
      startAttempt(index.spec(id)!, d, d.winner, writes);
    }
    if (into === undefined && writes.length > 0) write(writes);
  }

  /** Removes the finished tasks that are due, a bounded batch per event. */
  function removeFinished(now: number): void {
    const due = retention.sweep(now, removalLimit);
    for (let i = 0; i < due.length; i += removalBatch) {
      const batch = due.slice(i, i + removalBatch);
      store.remove(batch.flatMap((r) => r.records));
      for (const r of batch)
        if (r.tasks.length > 0) events.emit('removed', { tasks: r.tasks, run: r.run, at: now });
    }
  }

  /** Re-derives one task and reacts to its change: watchers, fencing of our own running attempt. */
  function refresh(id: TaskId): void {
    const d = index.derive(id);
    if (d === null) {
      if (index.spec(id) === null) {
        if (lastSeen.delete(id)) events.emit('gone', { task: id, at: clock.now() });
        retention.forget(id);
      }
      return;
    }
    const run = index.spec(id)!.workflow?.run;
    if (run !== undefined) workflowsApi.markDirty(run);
    if (d.status !== 'pending' && heldBack.get(id)?.epoch === d.epoch) heldBack.delete(id);
    if (d.status !== 'claimed' && ownClaims.get(id)?.epoch === d.epoch) ownClaims.delete(id);
    const agent = d.accepted?.agent ?? d.winner?.agent ?? null;
    const progressAt = index.progress(id)?.at ?? null;
    const seen = lastSeen.get(id);
    if (
      seen === undefined ||
      seen.status !== d.status ||
      seen.epoch !== d.epoch ||
      seen.agent !== agent ||
      seen.progressAt !== progressAt
    ) {
      lastSeen.set(id, { status: d.status, epoch: d.epoch, agent, progressAt });
      if (watchers.size > 0) {
        const v = taskView(index, id, d);
        for (const w of [...watchers]) if (w.task === undefined || w.task === id) w.listener(v);
      }
      if (terminalStatuses.has(d.status)) {
        events.emit('settled', { task: id, status: d.status, at: clock.now() });
        retention.finished(id, clock.now());
      }
    }
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
  }

  // ---- claiming ------------------------------------------------------------

  function dependenciesSucceeded(spec: TaskSpec): boolean {
    return spec.dependsOn.every((dep) => index.derive(dep)?.status === 'succeeded');
  }

  /** Pending tasks from the front of `ready`, dropping those no longer waiting. */
  function* readyFromFront(): Generator<ReadyTask> {
    for (let next = ready.shift(); next !== undefined; next = ready.shift()) {
      const spec = index.spec(next.key);
      const d = index.derive(next.key);
      // No longer waiting: a change to it, or to a dependency, brings it back through examine(),
      // which queues only tasks whose dependencies have succeeded.
      if (spec === null || d?.status !== 'pending') continue;
      yield { spec, epoch: d.epoch + 1, urgency: next.at };
    }
  }

  function claim(now: number, writes: RecordWrite[], wakeAt: (t: number) => void): void {
    const agents = [...index.agents().values()].filter((a) => !a.retired && nodeAlive(a.node, now));
    const loads = new Map<AgentId, number>();
    for (const a of agents) loads.set(a.id, index.load(a.id));
    for (const id of local.keys()) loads.set(id, index.load(id));
    const decisions = decideClaims({
      node: replica,
      now,
      settleMs: delay.settleMs(),
      ready: readyFromFront(),
      agents,
      local: new Map([...local].map(([id, a]) => [id, a.info])),
      loads,
      held: heldBack,
      stats: (agent) => statsOf(agent, now),
      resourcesAvailable: (needs) => pools.available(needs),
    });
    for (const h of decisions.holds) {
      heldBack.set(h.task, { epoch: h.epoch, until: h.until });
      checkAt.set(h.task, h.until);
      wakeAt(h.until);
    }
    for (const c of decisions.claims) {
      heldBack.delete(c.task);
      ownClaims.set(c.task, { epoch: c.epoch, agent: c.agent });
      writes.push({ kind: 'claim', key: agentAttemptKey(c.task, c.epoch, c.agent), value: { ...c } });
      events.emit('claim', { task: c.task, epoch: c.epoch, agent: c.agent, score: c.score, at: now });
    }
    for (const p of decisions.passed) ready.set(p.spec.id, p.urgency);
  }

  // ---- running -------------------------------------------------------------

  function startAttempt(spec: TaskSpec, d: DerivedTask, winner: Claim, writes: RecordWrite[]): void {
    const key = attemptKey(spec.id, d.epoch);
    if (running.has(key)) return;
    ownClaims.delete(spec.id);
    const now = clock.now();
    const agent = local.get(winner.agent);
    const release = agent === undefined || stopping ? null : pools.tryAcquire(spec.resources);
    if (agent === undefined || release === null) {
      // The winner cannot run it here (agent gone, stopping, or resources taken meanwhile): hand it on.
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
    };
    running.set(key, attempt);
    runningPerTask.set(spec.id, (runningPerTask.get(spec.id) ?? 0) + 1);
    // The start record goes out with the next pass, with the ends of the attempts that finished by then.
    unwrittenStarts.set(attempt, {
      kind: 'start',
      key: agentAttemptKey(spec.id, d.epoch, winner.agent),
      value: { ...base, startedAt: now, until: now + leaseMs },
    });
    const renew = (): void => {
      if (attempt.abortReason !== null || !running.has(key)) return;
      write([{ kind: 'lease', key, value: { ...base, until: clock.now() + leaseMs } }]);
      timers.push(clock.setTimer(renew, leaseMs / 3));
    };
    timers.push(clock.setTimer(renew, leaseMs / 3));
    if (spec.timeouts.runMs !== null)
      timers.push(clock.setTimer(() => abort(attempt, 'timed-out'), spec.timeouts.runMs));
    events.emit('start', {
      task: spec.id,
      epoch: d.epoch,
      agent: winner.agent,
      submittedAt: spec.submittedAt,
      at: now,
    });

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
      },
    };
    const view = taskView(index, spec.id, d);
    void Promise.resolve()
      .then(() => agent.handler(view, ctx))
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
    unwrittenStarts.delete(a);
    for (const cancel of a.timers) cancel();
    a.release();
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
      finished.push(record);
      // No pass runs after stop(): this attempt's end and its history go out now.
      if (stopped) {
        try {
          flushNow();
        } catch {
          // The store refuses writes after stop() (its event log failed): the end is lost as in a crash.
        }
      }
    }
    // The history row is the record without the handler's result and retry flag.
    const { result: _result, retryable: _retryable, ...row } = record;
    events.emit('attempt', { ...row, attempt: record.epoch });
    schedule(0);
  }

  // ---- presence ------------------------------------------------------------

  function heartbeat(): void {
    if (stopped) return;
    const load: Record<string, number> = {};
    for (const id of local.keys()) load[id] = index.load(id);
    presence.publish({ at: clock.now(), load, wants: pools.wants?.() ?? {} });
    cancelHeartbeat = clock.setTimer(heartbeat, heartbeatMs);
  }
  heartbeat();

  // ---- public API ----------------------------------------------------------

  const workflowsApi = createWorkflows({
    index,
    now: () => clock.now(),
    replica,
    write: (w) => write(w),
    submitSpec: (input, id, ref) =>
      parseSubmit(input, { now: clock.now(), replica, randomId: newId, id, workflow: ref }),
  });

  const retention = createRetention(
    {
      index,
      workflows: workflowsApi,
      replica,
      runningHere: (id) => runningPerTask.has(id),
      remover(id) {
        const records = index.records(id)!;
        return (
          index.derive(id)!.accepted?.node ??
          records.cancel?.by ??
          records.startTimeout?.by ??
          records.spec.submittedBy
        );
      },
      runRemover: (run) => index.workflows().get(run)?.startedBy ?? null,
    },
    retentionOptions,
  );

  function newId(): string {
    return `t-${hashId(`${replica}\u0000${clock.now()}\u0000${++idCounter}`)}`;
  }

  function requireTask(id: TaskId): DerivedTask {
    const d = typeof id === 'string' ? index.derive(id) : null;
    if (d === null) throw new CoordinatorError('unknown-task', `no task "${String(id)}"`, 'id');
    return d;
  }

  function assertRunning(): void {
    if (stopping) throw new CoordinatorError('stopped', 'the coordinator is stopping');
  }

  const coordinator: Coordinator = {
    replica,
    events,
    workflows: workflowsApi,
    pools,
    get caughtUp() {
      return caughtUp;
    },
    registerAgent(reg) {
      assertRunning();
      if (typeof reg !== 'object' || reg === null) throw invalid('agent', 'must be an object');
      const id = checkName('id', reg.id);
      if (local.has(id))
        throw new CoordinatorError('duplicate-agent', `agent "${id}" is already registered here`, 'id');
      if (!Array.isArray(reg.capabilities)) throw invalid('capabilities', 'must be an array of names');
      const capabilities = [
        ...new Set(reg.capabilities.map((c, i) => checkName(`capabilities[${i}]`, c))),
      ].sort();
      const capacity = reg.capacity ?? 1;
      if (!Number.isSafeInteger(capacity) || capacity < 1 || capacity > 100_000)
        throw invalid('capacity', 'must be an integer from 1 to 100000');
      const metadata = reg.metadata ?? {};
      checkData('metadata', metadata);
      if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))
        throw invalid('metadata', 'must be an object of plain data');
      if (typeof reg.handler !== 'function') throw invalid('handler', 'must be a function');
      const info: AgentInfo = {
        id,
        node: replica,
        capabilities,
        capacity,
        metadata,
        registeredAt: clock.now(),
        retired: false,
      };
      local.set(id, { info, handler: reg.handler });
      write([{ kind: 'agent', key: id, value: { ...info } }]);
      return {
        id,
        unregister() {
          if (!local.delete(id)) return;
          write([{ kind: 'agent', key: id, value: { ...info, retired: true } }]);
        },
      };
    },
    submit(input) {
      assertRunning();
      const spec = parseSubmit(input, { now: clock.now(), replica, randomId: newId });
      if (index.spec(spec.id) !== null) return spec.id;
      write([{ kind: 'task', key: spec.id, value: taskRecord(spec) }]);
      events.emit('submit', { task: spec.id, at: spec.submittedAt });
      return spec.id;
    },
    get(id) {
      const d = typeof id === 'string' ? index.derive(id) : null;
      return d === null ? null : taskView(index, id, d);
    },
    list(filter = {}) {
      const out: TaskView[] = [];
      for (const id of index.taskIds()) {
        const v = coordinator.get(id)!;
        if (filter.status !== undefined && v.status !== filter.status) continue;
        if (filter.type !== undefined && v.spec.type !== filter.type) continue;
        out.push(v);
      }
      return out;
    },
    watch(listener, filter = {}) {
      const w = { listener, task: filter.task };
      watchers.add(w);
      return () => void watchers.delete(w);
    },
    cancel(id, reason = 'cancelled') {
      const d = requireTask(id);
      if (terminalStatuses.has(d.status)) return;
      write([
        {
          kind: 'cancel',
          key: id,
          value: { task: id, at: clock.now(), by: replica, reason: String(reason) },
        },
      ]);
    },
    attempts(id) {
      requireTask(id);
      return attemptRows(id, index.records(id)!);
    },
    agents() {
      const now = clock.now();
      return [...index.agents().values()].map((a) => ({
        ...a,
        alive: !a.retired && nodeAlive(a.node, now),
        load: index.load(a.id),
        stats: statsOf(a.id, now),
      }));
    },
    settleMs: () => delay.settleMs(),
    stop({ drainMs = 5000 } = {}) {
      // Every call waits for the one drain the first call started.
      return (stopDone ??= shutdown(drainMs));
    },
  };
  async function shutdown(drainMs: number): Promise<void> {
    stopping = true;
    const drained = Promise.all([...running.values()].map((a) => a.done));
    let cancelDrain = (): void => {};
    await Promise.race([
      drained,
      new Promise<void>((resolve) => (cancelDrain = clock.setTimer(resolve, drainMs))),
    ]);
    cancelDrain();
    try {
      flushNow();
      const writes: RecordWrite[] = [];
      for (const a of running.values()) {
        abort(a, 'released');
        writes.push(expiryRecord(a.task, a.epoch, clock.now(), replica));
      }
      for (const { info } of local.values())
        writes.push({ kind: 'agent', key: info.id, value: { ...info, retired: true } });
      write(writes);
    } finally {
      // Stopped even when the store refuses these writes (a node whose event log failed): stop()
      // rejects with that error, but no handler, timer or subscription outlives it.
      for (const a of running.values()) abort(a, 'released');
      local.clear();
      stopped = true;
      cancelTick?.();
      cancelHeartbeat?.();
      unsubscribeStore();
      unsubscribePresence();
    }
  }
  // State already in the store (restored from disk, or synced before we started) counts as received.
  onChanges(allRecords(), true);
  if (!caughtUp) {
    const open = (): void => {
      if (caughtUp || stopped) return;
      caughtUp = true;
      // Every open task is looked at afresh, now that the state is current.
      for (const id of index.openTasks()) dirty.add(id);
      events.emit('ready', { at: clock.now() });
      schedule(0);
    };
    options.catchUp!.then(open, open);
  }
  return coordinator;
}
