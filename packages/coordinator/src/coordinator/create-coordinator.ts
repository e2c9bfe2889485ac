import { Emitter, type Document } from '@meshwork/core';
import { systemClock } from '../clock.ts';
import { createDelayEstimator, defaultSettle } from '../delay.ts';
import { createDocumentPools } from '../document-pools.ts';
import { createDocumentStore } from '../document-store.ts';
import { CoordinatorError, invalid } from '../errors.ts';
import type { CoordinatorEvents } from '../events.ts';
import { hashId } from '../hash.ts';
import { createDocumentHistory } from '../history.ts';
import { parseSubmit, type AgentId, type TaskId } from '../model.ts';
import { noPools } from '../resources.ts';
import { parseRetention } from '../retention.ts';
import type { AgentStats } from '../scoring.ts';
import { terminalStatuses, type DerivedTask, type TaskStatus } from '../status.ts';
import type { CoordinationStore, RecordWrite } from '../store.ts';
import { storedRecord, taskRecord } from '../stored-records.ts';
import { createTaskIndex } from '../task-index.ts';
import { createWorkflows } from '../workflows.ts';
import { createLocalAgents } from './agents.ts';
import type { Coordinator, CoordinatorOptions, TaskView } from './api.ts';
import { createAttemptLog } from './attempt-log.ts';
import { attemptRows } from './attempt-rows.ts';
import { createAttemptRunner } from './attempts.ts';
import { createChangeIntake } from './intake.ts';
import { createLiveness, MAX_HOLD_LEASES } from './liveness.ts';
import type { Phase } from './phase.ts';
import { startPresenceLink } from './presence.ts';
import { createRetentionSweep } from './retention-sweep.ts';
import { createReceipts } from './receipts.ts';
import { createScheduler } from './scheduler.ts';
import { taskView } from './task-view.ts';
import { createTaskTracing } from './task-tracing.ts';
import { createTaskWatchers } from './watchers.ts';

function documentStore(document: Document | undefined): CoordinationStore {
  if (document === undefined) throw invalid('options.document', 'a Document (or a store) is required');
  return createDocumentStore(document);
}

/** Composes the coordinator's parts (see docs/design/coordinator-structure.md) behind its public interface. */
export function createCoordinator(options: CoordinatorOptions): Coordinator {
  if (typeof options !== 'object' || options === null) throw invalid('options', 'must be an object');
  const { document, presence } = options;
  const store: CoordinationStore = options.store ?? documentStore(document);
  if (presence === undefined) throw invalid('options.presence', 'a PresenceChannel is required');
  const clock = options.clock ?? systemClock;
  const replica = store.replica;
  const settleOptions = { ...defaultSettle, ...options.settle };
  const timing = {
    leaseMs: options.lease?.durationMs ?? 3000,
    graceMs: options.lease?.graceMs ?? 500,
    heartbeatMs: options.heartbeatMs ?? 250,
    agingMs: options.agingMs ?? 60_000,
    tickMs: options.tickMs ?? 10,
  };
  const retentionOptions = parseRetention(options.retention);
  const pools = options.resources ?? (document === undefined ? noPools : createDocumentPools(document));
  const history =
    options.history ?? (document === undefined ? undefined : createDocumentHistory(document, { clock }));
  const delay = createDelayEstimator(settleOptions, () => clock.now());
  const index = createTaskIndex(store);
  const events = new Emitter<CoordinatorEvents>();
  const liveness = createLiveness({
    presence,
    replica,
    now: () => clock.now(),
    // Half a lease: a stall past it may have cost a renewal, and membership takes a silent node
    // for unreachable sooner.
    stallMs: timing.leaseMs / 2,
    maxHoldMs: MAX_HOLD_LEASES * timing.leaseMs,
    settleMs: () => delay.settleMs(),
    // A heartbeat: by then membership has taken in links that closed while this replica stalled.
    drainMs: timing.heartbeatMs,
    onStall: (hold) => events.emit('stalled', [hold]),
    onIsolated: (isolation) => events.emit('isolated', [isolation]),
  });
  const phase: Phase = { caughtUp: options.catchUp === undefined, stopping: false, stopped: false };
  const statsOf = (agent: AgentId, now: number): AgentStats =>
    history?.stats(agent, now) ?? index.stats(agent);
  /** Writes records as one transaction, each in its stored form (see stored-records.ts). */
  const write = (records: readonly RecordWrite[]): void =>
    store.write(records.map((r) => ({ kind: r.kind, key: r.key, value: storedRecord(r.kind, r.value) })));
  let idCounter = 0;
  const newId = (): string => `t-${hashId(`${replica}\u0000${clock.now()}\u0000${++idCounter}`)}`;

  const tracing = createTaskTracing(options.tracerProvider, replica);
  const agents = createLocalAgents({ replica, clock, write });
  const workflows = createWorkflows({
    index,
    now: () => clock.now(),
    replica,
    write,
    submitSpec: (input, id, ref) =>
      parseSubmit(input, { now: clock.now(), replica, randomId: newId, id, workflow: ref }),
    traceStart: (run, name) => tracing.workflow(run, name),
  });
  const log = createAttemptLog({ store, history, write });
  const attempts = createAttemptRunner({
    replica,
    clock,
    leaseMs: timing.leaseMs,
    index,
    log,
    pools,
    events,
    agents,
    phase,
    tracing,
    write,
  });
  const retention = createRetentionSweep({
    replica,
    index,
    workflows,
    store,
    events,
    options: retentionOptions,
    presence,
    liveness,
    tickMs: timing.tickMs,
    leaseMs: timing.leaseMs,
    runningHere: (id) => attempts.runsTask(id),
  });
  const receipts = store.order === undefined ? null : createReceipts(store, store.order);
  const watchers = createTaskWatchers({ index, clock, events, retention });
  const scheduler = createScheduler({
    replica,
    clock,
    timing,
    phase,
    index,
    liveness,
    delay,
    pools,
    events,
    agents,
    attempts,
    log,
    watchers,
    workflows,
    retention,
    stats: statsOf,
    tracing,
    receipts,
    write,
  });
  // An ended attempt waits in the attempt log: the next pass writes it.
  attempts.onEnded(() => scheduler.schedule(0));
  const intake = createChangeIntake({
    replica,
    clock,
    store,
    index,
    delay,
    events,
    workflows,
    scheduler,
    liveness,
    isReceiptForMe: (key) => receipts?.isForMe(key) === true,
    receiptIndex: retention.receipts,
  });

  // Live from here on: store changes, then presence (the first heartbeat goes out now); the state
  // already in the store is taken in last, once the coordinator object exists.
  store.on('change', intake.onChanges);
  const presenceLink = startPresenceLink({
    presence,
    clock,
    heartbeatMs: timing.heartbeatMs,
    phase,
    liveness,
    pools,
    scheduler,
  });

  function requireTask(id: TaskId): DerivedTask {
    const d = typeof id === 'string' ? index.derive(id) : null;
    if (d === null) throw new CoordinatorError('unknown_task', `no task "${String(id)}"`, 'id');
    return d;
  }

  function assertRunning(): void {
    if (phase.stopping) throw new CoordinatorError('stopped', 'the coordinator is stopping');
  }

  let stopDone: Promise<void> | null = null;
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
      write([...attempts.release(), ...scheduler.releaseClaims(), ...agents.retirements()]);
    } finally {
      // Stopped even when the store refuses these writes (a node whose event log failed): stop()
      // rejects with that error, but no handler, timer or subscription outlives it.
      attempts.abortAll();
      agents.clear();
      phase.stopped = true;
      scheduler.stop();
      presenceLink.stop();
      store.off('change', intake.onChanges);
      tracing.close();
    }
  }

  const coordinator: Coordinator = {
    replica,
    events: events.observable(),
    workflows,
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
      const parsed = parseSubmit(input, { now: clock.now(), replica, randomId: newId });
      if (index.spec(parsed.id) !== null) return parsed.id;
      const { spec, end } = tracing.submit(parsed);
      try {
        write([{ kind: 'task', key: spec.id, value: taskRecord(spec) }]);
      } catch (e) {
        end(e);
        throw e;
      }
      end();
      events.emit('submit', [{ task: spec.id, at: spec.submittedAt }]);
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
    counts() {
      const out: Record<TaskStatus, number> = {
        pending: 0,
        claimed: 0,
        running: 0,
        succeeded: 0,
        failed: 0,
        cancelled: 0,
      };
      for (const id of index.taskIds()) {
        const d = index.derive(id);
        if (d !== null) out[d.status]++;
      }
      return out;
    },
    watch(listener, filter = {}) {
      const onTask = events.on('task', (t) => {
        if (filter.task === undefined || t.id === filter.task) listener(t);
      });
      return () => events.off('task', onTask);
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
        alive: !a.retired && liveness.alive(a.node),
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

  intake.loadAll();
  if (phase.caughtUp) intake.measureFrom(clock.now());
  else {
    const open = (): void => {
      if (phase.caughtUp || phase.stopped) return;
      phase.caughtUp = true;
      intake.measureFrom(clock.now());
      // Every open task is looked at afresh, now that the state is current.
      for (const id of index.openTasks()) scheduler.markDirty(id);
      events.emit('ready', [{ at: clock.now() }]);
      scheduler.schedule(0);
    };
    options.catchUp!.then(open, open);
  }
  return coordinator;
}
