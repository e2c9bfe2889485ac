import type { ReplicaId } from '@meshwork/core';
import { covers, ineligibility } from '../eligibility.ts';
import type { AgentId, AgentInfo, Claim, TaskId, TaskSpec } from '../model.ts';
import { addNeeds, type ResourceNeeds } from '../resources.ts';
import { createCandidateWindow, leaders, type CandidateWindow } from './candidate-window.ts';
import { rankAgents, rendezvous, scoreAgent, type AgentStats, type Ranked } from '../scoring.ts';

/*
 * Which claims a scheduling pass makes: a pure function of what the pass has read. It writes
 * nothing and reads no clock; the scheduler turns its decisions into records, events and timers.
 */

/** A pending task whose next attempt may be claimed. */
export interface ReadyTask {
  readonly spec: TaskSpec;
  /** The epoch a claim opens: one past the task's current one. */
  readonly epoch: number;
  /** Its place in the ready queue, kept when the task is passed over and queued again. */
  readonly urgency: number;
}

/** A claim held back because other nodes rank first: from `until` on, this node may step in. */
export interface Hold {
  readonly epoch: number;
  readonly until: number;
}

export interface ClaimInputs {
  /** This replica: claims are made for its own agents only. */
  readonly node: ReplicaId;
  readonly now: number;
  /** The current settle window. */
  readonly settleMs: number;
  /**
   * Pending tasks, most urgent first, each at most once. Read lazily from the front and only as
   * far as the pass goes, so a pass costs what it can claim, not what is waiting.
   */
  readonly ready: Iterable<ReadyTask>;
  /** Agents mesh-wide that may take work: not retired, on nodes taken to be alive. */
  readonly agents: readonly AgentInfo[];
  /** The agents registered on this node. */
  readonly local: ReadonlyMap<AgentId, AgentInfo>;
  /** Tasks each agent holds (claimed or running) by what this replica has read; absent is 0. */
  readonly loads: ReadonlyMap<AgentId, number>;
  /** Holds made by earlier passes. */
  readonly held: ReadonlyMap<TaskId, Hold>;
  /** Past behaviour and health of an agent, looked up only for a task's candidates. */
  stats(agent: AgentId): AgentStats;
  /**
   * Whether this node's pools can give `needs` now, besides what its claims not yet started will
   * take: a claim is made only for units that will be there when it starts.
   */
  resourcesAvailable(needs: ResourceNeeds): boolean;
  /** Most agents a task is ranked among (see candidate-window.ts). Default {@link CANDIDATE_WINDOW}. */
  readonly window?: number;
  /**
   * A window an earlier pass built over the same `agents` (and `window`), reused: building one
   * hashes every agent of the mesh, which would cost each pass as much as the mesh is large.
   */
  readonly candidates?: CandidateWindow;
}

/** Agents a task is ranked among at most, so a task costs the same whatever the mesh's size. */
export const CANDIDATE_WINDOW = 32;

export interface ClaimDecisions {
  /** Claims to write, in the order made. */
  readonly claims: readonly Claim[];
  /** Tasks held back for higher-ranked nodes, to be looked at again at `until`. */
  readonly holds: readonly (Hold & { readonly task: TaskId })[];
  /** Tasks read and neither claimed nor held (no local agent can take them now): queued again. */
  readonly passed: readonly ReadyTask[];
}

/** Whether an agent of `local` has room by `load` and covers `needs` (a task's other conditions come with ranking). */
export function hasRoom(
  local: Iterable<AgentInfo>,
  load: (agent: AgentId) => number,
  needs: readonly string[] = [],
): boolean {
  for (const a of local) if (load(a.id) < a.capacity && covers(a.capabilities, needs)) return true;
  return false;
}

/** The claims, holds and passed-over tasks of one pass, taking tasks from the front of `ready`. */
export function decideClaims(input: ClaimInputs): ClaimDecisions {
  const { node, now, settleMs, agents, local, loads, held } = input;
  /** Claims of this pass, per agent: they count towards its load. */
  const extra = new Map<AgentId, number>();
  const loadOf = (a: AgentId): number => (loads.get(a) ?? 0) + (extra.get(a) ?? 0);
  /** Units the claims of this pass will take when they start. */
  let reserved: ResourceNeeds = {};
  const claims: Claim[] = [];
  const holds: (Hold & { readonly task: TaskId })[] = [];
  const passed: ReadyTask[] = [];
  // Nobody can claim more tasks than the mesh has free slots: rank only that many of the most
  // urgent among those a local agent with room could take. The others are passed over without
  // counting, so a backlog this node cannot run does not hide the tasks it can.
  // Counted only once a pass ranks more than the 16 it may always rank: it reads every agent.
  let limit = 16;
  let counted = false;
  const candidates = input.candidates ?? createCandidateWindow(agents, input.window ?? CANDIDATE_WINDOW);
  const queue = input.ready[Symbol.iterator]();
  let ranked = 0;
  while (hasRoom(local.values(), loadOf)) {
    if (ranked >= limit) {
      if (counted) break;
      counted = true;
      limit += 2 * agents.reduce((n, a) => n + Math.max(0, a.capacity - (loads.get(a.id) ?? 0)), 0);
      if (ranked >= limit) break;
    }
    const next = queue.next();
    if (next.done === true) break;
    const task = next.value;
    const { spec, epoch } = task;
    if (!hasRoom(local.values(), loadOf, spec.needs)) {
      passed.push(task);
      continue;
    }
    ranked++;
    const hold = held.get(spec.id);
    // Set when this node held back and the hold has ended (tasks still held are not ready).
    const until = hold?.epoch === epoch ? hold.until : undefined;
    // Which node claims first follows the rendezvous hash over the task's candidates with room
    // (the agents after its place on a hash ring, at most `window` of them), healthy agents before
    // degraded ones, not the scores: scores follow each replica's view of load, and differing
    // views would leave every node waiting for another. Health changes seldom; replicas that
    // disagree on it for a moment at worst both claim (the settle picks one) or both hold back
    // (and step in). Lower-ranked nodes hold back and step in if nobody claims.
    // The claim itself is for this node's best-scoring agent, and scores decide among claims, so
    // only this node's agents are scored.
    const mineScored: Ranked[] = [];
    let bestHere = -Infinity;
    let leading = false;
    const others: { readonly node: ReplicaId; readonly h: number }[] = [];
    const among = candidates.of(spec);
    const leads = leaders(spec, among);
    for (const agent of among) {
      const isLocal = agent.node === node && local.has(agent.id);
      if (agent.node === node && !isLocal) continue;
      const load = loadOf(agent.id);
      const why = ineligibility(spec, agent, {
        alive: true,
        load,
        dependenciesSucceeded: true,
        resourcesAvailable: isLocal ? input.resourcesAvailable(addNeeds(reserved, spec.resources)) : true,
      });
      if (why !== null) continue;
      // Degraded agents come after every healthy one: health is a function of the shared history,
      // so replicas agree on it, and a degraded agent's node holds back for a healthy agent's.
      const degraded = input.stats(agent.id).health?.degraded === true;
      const h = rendezvous(spec.id, agent.id) + (degraded ? 0 : 1);
      if (!isLocal) others.push({ node: agent.node, h });
      else {
        mineScored.push({ agent, score: scoreAgent(spec, agent, load, input.stats(agent.id)) });
        bestHere = Math.max(bestHere, h);
        leading ||= leads.has(agent.id);
      }
    }
    if (mineScored.length === 0) {
      passed.push(task);
      continue;
    }
    const ahead = new Set<ReplicaId>();
    for (const o of others) if (o.h > bestHere) ahead.add(o.node);
    // A node without one of the task's leaders never claims at once: it waits a window at least.
    const rank = ahead.size > 0 || leading ? ahead.size : 1;
    if (rank > 0 && until === undefined) {
      holds.push({ task: spec.id, epoch, until: now + rank * settleMs });
      continue;
    }
    const mine = rankAgents(spec, mineScored)[0]!;
    claims.push({
      task: spec.id,
      epoch,
      agent: mine.agent.id,
      node,
      at: now,
      score: mine.score,
      // A node stepping in for higher-ranked ones claims without having seen whether they did, and
      // a claim it missed is on its way: its own claim decides after a doubled window.
      settleMs: until === undefined ? settleMs : 2 * settleMs,
      ...(until === undefined ? {} : { stepIn: true }),
    });
    extra.set(mine.agent.id, (extra.get(mine.agent.id) ?? 0) + 1);
    reserved = addNeeds(reserved, spec.resources);
  }
  return { claims, holds, passed };
}
