import type { AgentInfo, TaskSpec } from './model.ts';

export interface EligibilityFacts {
  readonly alive: boolean;
  /** Tasks the agent currently holds (claimed or running). */
  readonly load: number;
  readonly dependenciesSucceeded: boolean;
  /** Whether this agent's node can take the task's resources now. */
  readonly resourcesAvailable: boolean;
}

export type Ineligibility =
  'retired' | 'not-alive' | 'missing-capability' | 'dependencies' | 'resources' | 'at-capacity';

/** Why `agent` may not take `task` now, or null when it may. Checks are ordered cheapest first. */
export function ineligibility(
  task: TaskSpec,
  agent: AgentInfo,
  facts: EligibilityFacts,
): Ineligibility | null {
  if (agent.retired) return 'retired';
  if (!facts.alive) return 'not-alive';
  if (!covers(agent.capabilities, task.needs)) return 'missing-capability';
  if (!facts.dependenciesSucceeded) return 'dependencies';
  if (facts.load >= agent.capacity) return 'at-capacity';
  if (!facts.resourcesAvailable) return 'resources';
  return null;
}

export function covers(capabilities: readonly string[], needs: readonly string[]): boolean {
  return needs.every((n) => capabilities.includes(n));
}
