import type { Document, ReplicaId } from '@meshwork/core';
import { systemClock } from './clock.ts';
import { createDelayEstimator, defaultSettle } from './delay.ts';
import { covers } from './eligibility.ts';
import { CoordinatorError, invalid } from './errors.ts';
import { createEmitter, type CoordinatorEvents } from './events.ts';
import { DueQueue } from './due-queue.ts';
import { hashId } from './hash.ts';
import { parseSubmit, type AgentId, type TaskId, type TaskSpec } from './model.ts';
import { createPhiDetector } from './phi.ts';
import { agentAttemptKey, expiryRecord, storedRecord, taskRecord } from './stored-records.ts';
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
import { type Coordinator, type CoordinatorOptions, type TaskView } from './coordinator/api.ts';
import { createLocalAgents } from './coordinator/agents.ts';
import { createAttemptLog } from './coordinator/attempt-log.ts';
import { attemptRows } from './coordinator/attempt-rows.ts';
import { createAttemptRunner } from './coordinator/attempts.ts';
import { decideClaims, type ReadyTask } from './coordinator/claims.ts';
import type { Phase } from './coordinator/phase.ts';
import { taskView } from './coordinator/task-view.ts';
import { createWorkflows } from './workflows.ts';

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
  const watchers = new Set<{ listener: (t: TaskView) => void; task: TaskId | undefined }>();
  const lastSeen = new Map<TaskId, SeenState>();
  /**
   * Claims held back because another node ranks first: when this replica may step in. Not
   * re-ranked before then, which keeps a pass cheap however many tasks are waiting.
   */
  const heldBack = new Map<TaskId, { readonly epoch: number; readonly until: number }>();
  const dirty = new Set<TaskId>();
  /** Claims this incarnation made and has not acted on yet, one per task; only these may start here. */
  const ownClaims = new Map<TaskId, { readonly epoch: number; readonly agent: AgentId }>();
  const isOwnClaim = (id: TaskId, epoch: number, agent: AgentId): boolean => {
    const own = ownClaims.get(id);
    return own !== undefined && own.epoch === epoch && own.agent === agent;
  };
  let idCounter = 0;
  const phase: Phase = { caughtUp: options.catchUp === undefined, stopping: false, stopped: false };
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

  const agents = createLocalAgents({ replica, clock, write });
  const log = createAttemptLog({ store, history, write });
  const attempts = createAttemptRunner({
    replica,
    clock,
    leaseMs,
    index,
    log,
    pools,
    events,
    agents,
    phase,
    write,
  });
  // An ended attempt waits in the attempt log: the next pass writes it.
  attempts.onEnded(() => schedule(0));

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

  /** Schedules the scheduling pass; passes are at least `tickMs` apart, so bursts of changes share one. */
  function schedule(inMs: number): void {
    if (phase.stopped) return;
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
    if (phase.stopped) return;
    const now = clock.now();
    lastTick = now;
    const writes: RecordWrite[] = [];
    let wake = now + heartbeatMs;
    const wakeAt = (t: number): void => void (wake = Math.min(wake, t));

    log.flush();
    const changed = [...dirty];
    for (const id of changed) refresh(id);
    dirty.clear();
    writes.push(...workflowsApi.advance());

    /** Tasks this replica has won, by what it has read so far. */
    const decided: TaskId[] = [];
    // Before catching up, nothing is decided from what may be a stale state (see options.catchUp).
    if (phase.caughtUp) {
      for (const id of tasksToExamine(changed, now)) {
        ready.delete(id);
        const next = examine(id, now, writes, decided);
        if (next === Infinity) checkAt.delete(id);
        else checkAt.set(id, next);
      }
      const due = checkAt.peek();
      if (due !== undefined) wakeAt(due.at);
      if (!phase.stopping && ready.size > 0 && localRoom((a) => index.load(a))) claim(now, writes, wakeAt);
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
    if (log.startsUnwritten) wakeAt(now);
    const retaining = index.size > index.openTasks().size || index.orphans().size > 0;
    if (retaining) wakeAt(nextSweep);
    if (agents.infos.size > 0 || attempts.size > 0 || index.openTasks().size > 0 || retaining)
      schedule(wake - now);
  }

  /**
   * Whether a local agent has room, by `load` (the index's, or the index's plus this pass's claims),
   * and covers `needs` (a task's other conditions come with ranking).
   */
  function localRoom(load: (agent: AgentId) => number, needs: readonly string[] = []): boolean {
    for (const a of agents.infos.values())
      if (load(a.id) < a.capacity && covers(a.capabilities, needs)) return true;
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
    if (d.status === 'claimed' && isOwnClaim(id, d.epoch, winner.agent)) {
      if (now < d.decidesAt!) return Math.min(next, d.decidesAt!);
      decided.push(id);
      // Looked at again next pass, in case the start is deferred (see tick) and then not made.
      return now;
    }
    if (attempts.runs(id, d.epoch)) return next;
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
    if (phase.stopped) return;
    const now = clock.now();
    const writes = into ?? [];
    for (const id of ids) {
      const d = index.derive(id);
      if (d === null || d.status !== 'claimed' || d.winner === null || now < d.decidesAt!) continue;
      if (!isOwnClaim(id, d.epoch, d.winner.agent) || attempts.runs(id, d.epoch)) continue;
      ownClaims.delete(id);
      attempts.start(index.spec(id)!, d, d.winner, writes);
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
    attempts.fence(id, d);
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
    const mesh = [...index.agents().values()].filter((a) => !a.retired && nodeAlive(a.node, now));
    const loads = new Map<AgentId, number>();
    for (const a of mesh) loads.set(a.id, index.load(a.id));
    for (const id of agents.infos.keys()) loads.set(id, index.load(id));
    const decisions = decideClaims({
      node: replica,
      now,
      settleMs: delay.settleMs(),
      ready: readyFromFront(),
      agents: mesh,
      local: agents.infos,
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

  // ---- presence ------------------------------------------------------------

  function heartbeat(): void {
    if (phase.stopped) return;
    const load: Record<string, number> = {};
    for (const id of agents.infos.keys()) load[id] = index.load(id);
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
      runningHere: (id) => attempts.runsTask(id),
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
    if (phase.stopping) throw new CoordinatorError('stopped', 'the coordinator is stopping');
  }

  const coordinator: Coordinator = {
    replica,
    events,
    workflows: workflowsApi,
    pools,
    get caughtUp() {
      return phase.caughtUp;
    },
    registerAgent(reg) {
      assertRunning();
      return agents.register(reg);
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
    phase.stopping = true;
    const drained = attempts.drained();
    let cancelDrain = (): void => {};
    await Promise.race([
      drained,
      new Promise<void>((resolve) => (cancelDrain = clock.setTimer(resolve, drainMs))),
    ]);
    cancelDrain();
    try {
      log.flushNow();
      write([...attempts.release(), ...agents.retirements()]);
    } finally {
      // Stopped even when the store refuses these writes (a node whose event log failed): stop()
      // rejects with that error, but no handler, timer or subscription outlives it.
      attempts.abortAll();
      agents.clear();
      phase.stopped = true;
      cancelTick?.();
      cancelHeartbeat?.();
      unsubscribeStore();
      unsubscribePresence();
    }
  }
  // State already in the store (restored from disk, or synced before we started) counts as received.
  onChanges(allRecords(), true);
  if (!phase.caughtUp) {
    const open = (): void => {
      if (phase.caughtUp || phase.stopped) return;
      phase.caughtUp = true;
      // Every open task is looked at afresh, now that the state is current.
      for (const id of index.openTasks()) dirty.add(id);
      events.emit('ready', { at: clock.now() });
      schedule(0);
    };
    options.catchUp!.then(open, open);
  }
  return coordinator;
}
