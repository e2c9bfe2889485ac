import { hashUnit } from './hash.ts';
import type { AgentHealth } from './health.ts';
import type { AgentInfo, TaskSpec } from './model.ts';

/** Past behaviour of an agent on tasks, from the recorded attempts. */
export interface AgentStats {
  readonly successes: number;
  readonly failures: number;
  /** Mean run time of recent successful attempts, null before the first. */
  readonly meanLatencyMs: number | null;
  /** From the agent's history series (see health.ts); absent without one, which counts as healthy. */
  readonly health?: AgentHealth;
}

/** A degraded agent's score is multiplied by this: ranked below its healthy peers, still eligible. */
export const DEGRADED_FACTOR = 0.5;

/** Rendezvous (highest-random-weight) hash of a task and an agent: spreads ties evenly and stably. */
export function rendezvous(task: string, agent: string): number {
  return hashUnit(`${task}\u0000${agent}`);
}

/**
 * How well `agent` suits `task`, in [0, 1], rounded to 1/1000 so near-equal agents tie
 * and the rendezvous hash spreads them. Weights: free capacity (load balancing) first,
 * then past success, capability fit (specialists before generalists) and past latency. A
 * degraded agent's score is halved: it ranks below an otherwise equal healthy agent, and is
 * still eligible.
 */
export function scoreAgent(task: TaskSpec, agent: AgentInfo, load: number, stats: AgentStats): number {
  const free = agent.capacity <= 0 ? 0 : Math.max(0, 1 - load / agent.capacity);
  const fit =
    agent.capabilities.length === 0
      ? 1
      : Math.min(1, Math.max(1, task.needs.length) / agent.capabilities.length);
  const success = (stats.successes + 1) / (stats.successes + stats.failures + 2);
  const latency = stats.meanLatencyMs === null ? 0.5 : 1 / (1 + stats.meanLatencyMs / 1000);
  const score =
    (0.45 * free + 0.25 * success + 0.15 * fit + 0.15 * latency) *
    (stats.health?.degraded === true ? DEGRADED_FACTOR : 1);
  return Math.round(score * 1000) / 1000;
}

export interface Ranked {
  readonly agent: AgentInfo;
  readonly score: number;
}

/** Agents best first: score, then rendezvous hash, then id. */
export function rankAgents(task: TaskSpec, scored: readonly Ranked[]): Ranked[] {
  const keyed = scored.map((r) => ({ r, h: rendezvous(task.id, r.agent.id) }));
  keyed.sort((a, b) => b.r.score - a.r.score || b.h - a.h || (a.r.agent.id < b.r.agent.id ? -1 : 1));
  return keyed.map((k) => k.r);
}

/** Priority plus one point per `agingMs` waited, so low-priority work cannot starve. */
export function effectivePriority(task: TaskSpec, now: number, agingMs: number): number {
  return task.priority + Math.max(0, now - task.submittedAt) / agingMs;
}
