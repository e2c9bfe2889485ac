// Scheduling pieces shared with Meshwork's own packages and tests: `@meshwork/coordinator/internal`.
// No compatibility promise.
export { covers, ineligibility, type EligibilityFacts, type Ineligibility } from './eligibility.ts';
export type { Stamp, StoredRecord } from './memory-store.ts';
export { backoffDelay } from './retry.ts';
export { effectivePriority, rankAgents, rendezvous, scoreAgent, type AgentStats } from './scoring.ts';
export { decisionTime, firstClaim, selectWinner } from './winner.ts';
export { planWorkflow, workflowTaskId, type WorkflowPlan } from './workflow/plan.ts';
export { parseSubmit } from './model.ts';
export { noPools } from './resources.ts';
