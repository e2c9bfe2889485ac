import type { ReplicaId } from '@meshwork/core';
import type { Clock } from '../clock.ts';
import type { DelayEstimator } from '../delay.ts';
import { DueQueue } from '../due-queue.ts';
import type { Emitter } from '@meshwork/core';
import type { CoordinatorEvents } from '../events.ts';
import type { AgentId, AgentInfo, Claim, TaskId, TaskSpec } from '../model.ts';
import { addNeeds, type ResourceNeeds, type ResourcePools } from '../resources.ts';
import type { AgentStats } from '../scoring.ts';
import { terminalStatuses } from '../status.ts';
import type { RecordWrite } from '../store.ts';
import { agentAttemptKey, expiryRecord } from '../stored-records.ts';
import type { TaskIndex } from '../task-index.ts';
import type { Workflows } from '../workflows.ts';
import type { LocalAgents } from './agents.ts';
import type { AttemptLog } from './attempt-log.ts';
import type { AttemptRunner } from './attempts.ts';
import { createCandidateWindow, type CandidateWindow } from './candidate-window.ts';
import { CANDIDATE_WINDOW, decideClaims, hasRoom, type Hold, type ReadyTask } from './claims.ts';
import { createLapseRule } from './lapse.ts';
import type { Liveness } from './liveness.ts';
import { createPassTimer } from './pass-timer.ts';
import type { Phase } from './phase.ts';
import type { RetentionSweep } from './retention-sweep.ts';
import type { TaskTracing } from './task-tracing.ts';
import { RECEIPT_WAIT_LEASES, type Receipts } from './receipts.ts';
import { createRivalReceipts } from './rival-receipts.ts';
import type { TaskWatchers } from './watchers.ts';

/**
 * The scheduling pass: re-derives the tasks whose records changed, looks at the open tasks that
 * are due (expiries, timeouts, decisions), claims ready tasks, starts the ones this node won, and
 * sweeps finished tasks. Passes run off a PassTimer.
 */
export interface Scheduler {
  /** Marks a task to be re-derived and looked at by the next pass. */
  markDirty(id: TaskId): void;
  /** Schedules a pass in `inMs` at the earliest; bursts of changes share one. */
  schedule(inMs: number): void;
  /**
   * Another node's claim was read: this node owes its node a receipt by local time `by` if it
   * could have raced it.
   */
  claimRead(claim: Claim, by: number): void;
  /** A receipt addressed to this node was read: its claims waiting for one are looked at again. */
  receiptRead(): void;
  /**
   * The expiries that hand on the epochs this node's unstarted claims won (stopping): the mesh
   * leaves a live node's epochs to it (see LapseRule), so they are ended here rather than left to run out.
   */
  releaseClaims(): RecordWrite[];
  /** Cancels the next pass (stopped). */
  stop(): void;
}

export interface SchedulerDeps {
  readonly replica: ReplicaId;
  readonly clock: Clock;
  readonly timing: {
    readonly tickMs: number;
    readonly heartbeatMs: number;
    readonly leaseMs: number;
    readonly graceMs: number;
    readonly agingMs: number;
  };
  readonly phase: Readonly<Phase>;
  readonly index: TaskIndex;
  readonly liveness: Liveness;
  readonly delay: DelayEstimator;
  readonly pools: ResourcePools;
  readonly events: Emitter<CoordinatorEvents>;
  readonly agents: Pick<LocalAgents, 'infos'>;
  readonly attempts: AttemptRunner;
  readonly log: Pick<AttemptLog, 'flush' | 'startsUnwritten'>;
  readonly watchers: TaskWatchers;
  readonly workflows: Pick<Workflows, 'markDirty' | 'advance'>;
  readonly retention: RetentionSweep;
  readonly stats: (agent: AgentId, now: number) => AgentStats;
  readonly tracing: Pick<TaskTracing, 'claimed' | 'settled' | 'failover'>;
  /** Null with a store that cannot tell the order of each replica's writes: starts go by timing alone. */
  readonly receipts: Receipts | null;
  readonly write: (records: readonly RecordWrite[]) => void;
}

export function createScheduler(deps: SchedulerDeps): Scheduler {
  const { replica, clock, phase, index, liveness, delay, events, agents, attempts, log, watchers, tracing } =
    deps;
  const { receipts } = deps;
  const { tickMs, heartbeatMs, leaseMs, graceMs, agingMs } = deps.timing;
  const lapses = createLapseRule({
    replica,
    delay,
    leaseMs,
    graceMs,
  });
  const dirty = new Set<TaskId>();
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
  /**
   * Claims held back because another node ranks first: when this replica may step in. Not
   * re-ranked before then, which keeps a pass cheap however many tasks are waiting.
   */
  const heldBack = new Map<TaskId, Hold>();
  /**
   * Claims this incarnation made and has not acted on yet, one per task; only these may start here.
   * `seq` is the transaction the claim went out in (Infinity until written): receipts must cover it.
   */
  const ownClaims = new Map<
    TaskId,
    { readonly epoch: number; readonly agent: AgentId; readonly stepIn: boolean; seq: number }
  >();
  /** Own claims past their decision time and still waiting for a receipt: a receipt's arrival looks at them again. */
  const awaitingReceipts = new Set<TaskId>();
  const rivals =
    receipts === null ? null : createRivalReceipts({ replica, receipts, index, localAgents: agents.infos });
  const isOwnClaim = (id: TaskId, epoch: number, agent: AgentId): boolean => {
    const own = ownClaims.get(id);
    return own !== undefined && own.epoch === epoch && own.agent === agent;
  };
  const timer = createPassTimer(clock, tickMs, phase, pass);
  /**
   * The agents mesh-wide that may take work, and their candidate window, as of the versions of the
   * agent records and of liveness they were built at: rebuilt when an agent or a node comes or goes,
   * not in every pass, as each costs as much as the mesh is large.
   */
  let mesh: {
    readonly agentsVersion: number;
    readonly livenessVersion: number;
    readonly agents: readonly AgentInfo[];
    /** How many nodes those agents are on. */
    readonly nodes: number;
    readonly candidates: CandidateWindow;
  } | null = null;
  function meshAgents(): NonNullable<typeof mesh> {
    if (mesh?.agentsVersion !== index.agentsVersion || mesh.livenessVersion !== liveness.version) {
      const live = [...index.agents().values()].filter((a) => !a.retired && liveness.alive(a.node));
      mesh = {
        agentsVersion: index.agentsVersion,
        livenessVersion: liveness.version,
        agents: live,
        nodes: new Set(live.map((a) => a.node)).size,
        candidates: createCandidateWindow(live, CANDIDATE_WINDOW),
      };
    }
    return mesh;
  }

  /** One pass; returns when the next is due (see PassTimer). */
  function pass(now: number, planned: number): number | null {
    const writes: RecordWrite[] = [];
    let wake = now + heartbeatMs;
    const wakeAt = (t: number): void => void (wake = Math.min(wake, t));
    liveness.ran(planned, now);
    /** After a stall, until the mesh is heard again: no claim, no start, no other's epoch lost. */
    const hold = liveness.holdUntil();
    const holding = now < hold;

    log.flush();
    rivals?.beginPass();
    const changed = [...dirty];
    for (const id of changed) refresh(id);
    dirty.clear();
    writes.push(...deps.workflows.advance());

    /** Tasks this replica has won, by what it has read so far. */
    const decided: TaskId[] = [];
    /** Ran later than a lease's grace: a renewal may have arrived unread (see examine). */
    const late = now - planned > graceMs;
    // Before catching up, nothing is decided from what may be a stale state (see options.catchUp).
    if (phase.caughtUp) {
      for (const id of tasksToExamine(changed, now)) {
        ready.delete(id);
        const next = examine(id, now, late, holding ? hold : -Infinity, writes, decided);
        if (next === Infinity) checkAt.delete(id);
        else checkAt.set(id, next);
      }
      const due = checkAt.peek();
      if (due !== undefined) wakeAt(due.at);
      if (holding && ready.size > 0) wakeAt(hold);
      else if (!phase.stopping && ready.size > 0 && hasRoom(agents.infos.values(), (a) => index.load(a)))
        claim(now, writes, wakeAt);
    }
    // A pass runs off a timer, before the event loop reads the network: claims that arrived while
    // this replica was busy are still unread. When the pass ran late by more than the settle
    // margin allows for, it starts its tasks only once those are read, so a busy replica does not
    // start a task that a claim it has not read yet gives to another node.
    if (decided.length > 0) {
      if (now - planned > delay.settleMs() / 4) clock.setTimer(() => startDecided(decided), 0);
      else startDecided(decided, writes);
    }
    if (receipts !== null) {
      rivals?.oweReceipts(meshAgents().candidates);
      writes.push(...receipts.due(now));
      if (receipts.nextDue < Infinity) wakeAt(Math.max(receipts.nextDue, now + tickMs));
    }
    const wrote = writes.length > 0;
    if (wrote) deps.write(writes);
    if (receipts !== null && wrote) {
      const seq = receipts.latest();
      for (const own of ownClaims.values()) if (own.seq === Infinity) own.seq = seq;
    }
    deps.retention.sweep(now);
    if (log.startsUnwritten) wakeAt(now);
    const retaining = deps.retention.retaining();
    if (retaining) wakeAt(deps.retention.nextAt);
    // With nothing open, running or retained a pass has nothing to look at: the next one comes
    // with a change (a record, a node seen or lost, an attempt's end), not every heartbeat.
    const busy =
      attempts.size > 0 ||
      index.openTasks().size > 0 ||
      retaining ||
      (receipts?.nextDue ?? Infinity) < Infinity;
    if (busy) return wake - now;
    // Idle but for receipts that go once a node's bound runs out: one pass then.
    return deps.retention.nextAt < Infinity ? deps.retention.nextAt - now : null;
  }

  /** Re-derives one task and reacts to its change: its run, its holds and claims, watchers, fencing. */
  function refresh(id: TaskId): void {
    const d = index.derive(id);
    if (d === null) {
      if (index.spec(id) === null) watchers.gone(id);
      return;
    }
    const run = index.spec(id)!.workflow?.run;
    if (run !== undefined) deps.workflows.markDirty(run);
    if (d.status !== 'pending' && heldBack.get(id)?.epoch === d.epoch) heldBack.delete(id);
    if (d.status !== 'claimed' && ownClaims.get(id)?.epoch === d.epoch) {
      ownClaims.delete(id);
      awaitingReceipts.delete(id);
      tracing.settled(id, 'lost');
    }
    watchers.changed(id, d);
    attempts.fence(id, d);
  }

  /**
   * The open tasks a pass looks at: those whose records changed and those due by time (a
   * decision, a lease end, a backoff, a deadline). All of them when a node became unreachable,
   * left or came back, since that decides whether its tasks are lost, or a hold after a stall
   * ended before the time the held tasks were put off to. Tasks ready for a claim wait in
   * `ready`, and claim() takes them from its front.
   */
  function tasksToExamine(changed: readonly TaskId[], now: number): Iterable<TaskId> {
    if (liveness.takeChanged()) return [...index.openTasks()];
    const out = new Set<TaskId>(changed);
    for (let due = checkAt.peek(); due !== undefined && due.at <= now; due = checkAt.peek())
      out.add(checkAt.shift()!.key);
    return out;
  }

  /**
   * Looks at one task: queues it in `ready` or collects it into `decided`, or writes what its state calls
   * for (a schedule-to-start timeout, an expiry of a silent holder). Returns when it must be looked
   * at again if none of its records changes meanwhile (Infinity: only on a change). Until `hold`
   * (after a stall) it starts nothing and declares no other node's epoch lost.
   */
  function examine(
    id: TaskId,
    now: number,
    late: boolean,
    hold: number,
    writes: RecordWrite[],
    decided: TaskId[],
  ): number {
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
        if (spec.dependsOn.every((dep) => index.derive(dep)?.status === 'succeeded'))
          ready.set(id, urgency(spec));
      } else if (d.nextAttemptAt !== null) next = Math.min(next, d.nextAttemptAt);
      return next;
    }
    const winner = d.winner!;
    if (d.status === 'claimed' && isOwnClaim(id, d.epoch, winner.agent)) {
      if (now < d.decidesAt!) return Math.min(next, d.decidesAt!);
      // Waiting for a receipt (its arrival looks at the task again), or for the start of a decided
      // claim, its lease is renewed: a slow mesh delays the start rather than losing the epoch. A
      // claim still unheard after RECEIPT_WAIT_LEASES leases lapses below like a silent holder's,
      // and the next epoch opens.
      const heard = now >= hold && heardFromRivals(spec, d.epoch);
      if (heard || now - d.decidesAt! < RECEIPT_WAIT_LEASES * leaseMs) {
        if (heard) {
          awaitingReceipts.delete(id);
          decided.push(id);
        } else awaitingReceipts.add(id);
        const until = d.lease?.until ?? d.decidesAt! + leaseMs;
        const renewAt = until - (2 * leaseMs) / 3;
        if (now >= renewAt) {
          const lease = {
            task: id,
            epoch: d.epoch,
            agent: winner.agent,
            node: replica,
            until: now + leaseMs,
            at: now,
          };
          writes.push({ kind: 'lease', key: agentAttemptKey(id, d.epoch, winner.agent), value: lease });
        }
        // A decided claim is looked at again next pass, in case its start is deferred (see pass)
        // and then not made.
        if (heard) return now;
        return Math.min(next, now < renewAt ? renewAt : now + leaseMs / 3, now < hold ? hold : Infinity);
      }
    }
    if (attempts.runs(id, d.epoch)) return next;
    // The holder went silent: lease past due (or never taken), its node gone, or it is this
    // node's former incarnation (a restart), whose attempts and claims died with it.
    const holder = d.lease?.node ?? d.start?.node ?? winner.node;
    const leaseEnd = lapses.lapsesAt(
      id,
      d.epoch,
      holder,
      (d.lease?.until ?? d.decidesAt! + leaseMs) + graceMs,
      meshAgents().nodes,
      liveness.alive(holder),
    );
    const goneSince = liveness.goneSince(holder);
    const goneAt = goneSince === undefined ? Infinity : lapses.goneAt(goneSince);
    // What a stalled replica's view says of another node's lease or links is stale (see Liveness).
    const lapseAt = holder === replica ? leaseEnd : Math.max(hold, Math.min(leaseEnd, goneAt));
    const lost = holder === replica ? d.status === 'running' || now >= leaseEnd : now >= lapseAt;
    if (!lost) return Math.min(next, lapseAt);
    // A pass that ran late has not read what arrived meanwhile, the holder's renewal perhaps: the
    // lapse is judged again by the next pass, which runs once the network has been read.
    if (late && holder !== replica && now < goneAt) return now;
    writes.push(expiryRecord(id, d.epoch, now, replica));
    const reason =
      holder === replica ? (now >= leaseEnd ? 'lease' : 'restart') : now >= goneAt ? 'unreachable' : 'lease';
    events.emit('failover', [
      {
        task: id,
        epoch: d.epoch,
        agent: winner.agent,
        node: holder,
        at: now,
        reason,
        started: d.start !== null,
      },
    ]);
    tracing.failover(spec, d.epoch, holder);
    return next;
  }

  /** Whether the rivals of this replica's claim have all answered it (see RivalReceipts). */
  function heardFromRivals(spec: TaskSpec, epoch: number): boolean {
    const own = ownClaims.get(spec.id);
    if (rivals === null || own === undefined) return true;
    return rivals.heardFrom(spec, epoch, own, meshAgents().candidates);
  }

  /** Starts the tasks this replica still wins, now that what arrived meanwhile has been read. */
  function startDecided(ids: readonly TaskId[], into?: RecordWrite[]): void {
    const now = clock.now();
    // A stall found since they were decided: a pass looks at them again after the hold.
    if (phase.stopped || now < liveness.holdUntil()) return;
    const writes = into ?? [];
    for (const id of ids) {
      const d = index.derive(id);
      if (d === null || d.status !== 'claimed' || d.winner === null || now < d.decidesAt!) continue;
      if (!isOwnClaim(id, d.epoch, d.winner.agent) || attempts.runs(id, d.epoch)) continue;
      ownClaims.delete(id);
      awaitingReceipts.delete(id);
      attempts.start(index.spec(id)!, d, d.winner, writes);
      // Ended by the attempt's start already, unless the attempt could not start here.
      tracing.settled(id, 'won');
    }
    if (into === undefined && writes.length > 0) deps.write(writes);
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

  /** What this node's claims not yet started will take from its pools. */
  function claimedNeeds(): ResourceNeeds {
    let needs: ResourceNeeds = {};
    for (const id of ownClaims.keys()) {
      const resources = index.spec(id)?.resources;
      if (resources !== undefined && Object.keys(resources).length > 0) needs = addNeeds(needs, resources);
    }
    return needs;
  }

  /** Claims what decideClaims decides, and keeps its holds and passed-over tasks for later passes. */
  function claim(now: number, writes: RecordWrite[], wakeAt: (t: number) => void): void {
    const { agents: live, candidates } = meshAgents();
    const claimed = claimedNeeds();
    const decisions = decideClaims({
      node: replica,
      now,
      settleMs: delay.settleMs(),
      ready: readyFromFront(),
      agents: live,
      candidates,
      local: agents.infos,
      loads: index.loads(),
      held: heldBack,
      stats: (agent) => deps.stats(agent, now),
      resourcesAvailable: (needs) => deps.pools.available(addNeeds(needs, claimed)),
    });
    for (const h of decisions.holds) {
      heldBack.set(h.task, { epoch: h.epoch, until: h.until });
      checkAt.set(h.task, h.until);
      wakeAt(h.until);
    }
    for (const c of decisions.claims) {
      heldBack.delete(c.task);
      ownClaims.set(c.task, { epoch: c.epoch, agent: c.agent, stepIn: c.stepIn === true, seq: Infinity });
      tracing.claimed(index.spec(c.task)!, c);
      writes.push({ kind: 'claim', key: agentAttemptKey(c.task, c.epoch, c.agent), value: { ...c } });
      events.emit('claim', [{ task: c.task, epoch: c.epoch, agent: c.agent, score: c.score, at: now }]);
    }
    for (const p of decisions.passed) ready.set(p.spec.id, p.urgency);
  }

  return {
    markDirty: (id) => void dirty.add(id),
    claimRead: (claim, by) => rivals?.claimRead(claim, by),
    receiptRead() {
      for (const id of awaitingReceipts)
        if (ownClaims.has(id)) dirty.add(id);
        else awaitingReceipts.delete(id);
    },
    schedule: timer.schedule,
    releaseClaims() {
      const now = clock.now();
      const writes: RecordWrite[] = [];
      for (const [id, own] of ownClaims) {
        const d = index.derive(id);
        if (d?.status === 'claimed' && d.epoch === own.epoch && d.winner?.agent === own.agent)
          writes.push(expiryRecord(id, own.epoch, now, replica));
      }
      ownClaims.clear();
      awaitingReceipts.clear();
      return writes;
    },
    stop: timer.stop,
  };
}
