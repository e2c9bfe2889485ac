import type { AgentInfo, Claim, TaskRecords, TaskSpec } from '../src/index.ts';
import { defaultRetry } from '../src/index.ts';

export function spec(overrides: Partial<TaskSpec> = {}): TaskSpec {
  return {
    id: 't1',
    type: 'work',
    needs: ['work'],
    input: null,
    priority: 0,
    dependsOn: [],
    resources: {},
    retry: defaultRetry,
    timeouts: { scheduleToStartMs: null, runMs: null },
    idempotencyKey: 't1',
    submittedAt: 0,
    submittedBy: 'n0',
    workflow: null,
    ...overrides,
  };
}

export function agent(overrides: Partial<AgentInfo> = {}): AgentInfo {
  return {
    id: 'a1',
    node: 'n1',
    capabilities: ['work'],
    capacity: 2,
    metadata: {},
    registeredAt: 0,
    retired: false,
    ...overrides,
  };
}

export function claim(overrides: Partial<Claim> = {}): Claim {
  return { task: 't1', epoch: 1, agent: 'a1', node: 'n1', at: 100, score: 0.5, settleMs: 50, ...overrides };
}

export function records(overrides: Partial<TaskRecords> = {}): TaskRecords {
  return {
    spec: spec(),
    claims: [],
    leases: [],
    starts: [],
    ends: [],
    expiries: [],
    cancel: null,
    startTimeout: null,
    progress: null,
    ...overrides,
  };
}
