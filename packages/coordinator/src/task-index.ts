import type { Value } from '@meshwork/core';
import { readAgentInfo, readTaskSpec } from './model.ts';
import type {
  AgentId,
  AgentInfo,
  AttemptEnd,
  AttemptStart,
  Cancellation,
  Claim,
  EpochExpiry,
  Lease,
  Progress,
  StartTimeout,
  TaskId,
  TaskRecords,
  TaskSpec,
} from './model.ts';
import type { AgentStats } from './scoring.ts';
import { deriveTask, terminalStatuses, type DerivedTask, type TaskStatus } from './status.ts';
import type { CoordinationStore, RecordChange } from './store.ts';

interface TaskEntry {
  spec: TaskSpec | null;
  claims: Map<string, Claim>;
  leases: Map<string, Lease>;
  starts: Map<string, AttemptStart>;
  ends: Map<string, AttemptEnd>;
  expiries: Map<string, EpochExpiry>;
  cancel: Cancellation | null;
  startTimeout: StartTimeout | null;
  progress: Progress | null;
  derived: DerivedTask | null;
  holder: AgentId | null;
}

export interface WorkflowRecord {
  readonly run: string;
  readonly template: Value;
  readonly params: { readonly [name: string]: Value };
  readonly startedAt: number;
}

interface StatsEntry {
  successes: number;
  failures: number;
  latencySum: number;
}

/** Minimal shape checks: records from other replicas are data, not trusted code. */
function hasFields(v: Value | undefined, strings: readonly string[], numbers: readonly string[]): boolean {
  if (v === null || v === undefined || typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array)
    return false;
  const o = v as { readonly [k: string]: Value };
  return strings.every((k) => typeof o[k] === 'string') && numbers.every((k) => typeof o[k] === 'number');
}

const shapes: Record<string, [string[], string[]]> = {
  task: [
    ['id', 'type', 'submittedBy', 'idempotencyKey'],
    ['priority', 'submittedAt'],
  ],
  agent: [
    ['id', 'node'],
    ['capacity', 'registeredAt'],
  ],
  claim: [
    ['task', 'agent', 'node'],
    ['epoch', 'at', 'score', 'settleMs'],
  ],
  lease: [
    ['task', 'agent', 'node'],
    ['epoch', 'until'],
  ],
  start: [
    ['task', 'agent', 'node'],
    ['epoch', 'startedAt'],
  ],
  end: [
    ['task', 'agent', 'node', 'outcome'],
    ['epoch', 'startedAt', 'endedAt'],
  ],
  expiry: [
    ['task', 'by'],
    ['epoch', 'at'],
  ],
  cancel: [['task', 'by', 'reason'], ['at']],
  timeout: [['task', 'by'], ['at']],
  progress: [
    ['task', 'agent'],
    ['epoch', 'at'],
  ],
  workflow: [['run'], ['startedAt']],
};

/**
 * Everything this replica knows, indexed by task, with derived state cached per task.
 * Fed by store changes; the cache of a task (and of its dependents) is dropped when
 * any of its records changes.
 */
export interface TaskIndex {
  /** Loads changed records from the store; returns the tasks whose records changed. */
  apply(changes: readonly RecordChange[]): {
    tasks: Set<TaskId>;
    agents: boolean;
    workflows: Set<string>;
    malformed: number;
  };
  spec(id: TaskId): TaskSpec | null;
  records(id: TaskId): TaskRecords | null;
  derive(id: TaskId): DerivedTask | null;
  /** Drops cached derivations of `id` and everything depending on it; returns all ids touched. */
  invalidate(id: TaskId): TaskId[];
  taskIds(): Iterable<TaskId>;
  openTasks(): ReadonlySet<TaskId>;
  agents(): ReadonlyMap<AgentId, AgentInfo>;
  load(agent: AgentId): number;
  stats(agent: AgentId): AgentStats;
  workflows(): ReadonlyMap<string, WorkflowRecord>;
}

export function createTaskIndex(store: CoordinationStore): TaskIndex {
  const tasks = new Map<TaskId, TaskEntry>();
  const agents = new Map<AgentId, AgentInfo>();
  const workflows = new Map<string, WorkflowRecord>();
  const dependents = new Map<TaskId, Set<TaskId>>();
  const stats = new Map<AgentId, StatsEntry>();
  const loads = new Map<AgentId, number>();
  const open = new Set<TaskId>();

  const entry = (id: TaskId): TaskEntry => {
    let e = tasks.get(id);
    if (e === undefined) {
      e = {
        spec: null,
        claims: new Map(),
        leases: new Map(),
        starts: new Map(),
        ends: new Map(),
        expiries: new Map(),
        cancel: null,
        startTimeout: null,
        progress: null,
        derived: null,
        holder: null,
      };
      tasks.set(id, e);
    }
    return e;
  };

  const setHolder = (e: TaskEntry, holder: AgentId | null): void => {
    if (e.holder === holder) return;
    if (e.holder !== null) loads.set(e.holder, (loads.get(e.holder) ?? 1) - 1);
    if (holder !== null) loads.set(holder, (loads.get(holder) ?? 0) + 1);
    e.holder = holder;
  };

  const statusOf = (id: TaskId): TaskStatus | undefined => index.derive(id)?.status;

  const index: TaskIndex = {
    apply(changes) {
      const touched = new Set<TaskId>();
      const touchedWorkflows = new Set<string>();
      let agentsChanged = false;
      let malformed = 0;
      for (const { kind, key } of changes) {
        const v = store.get(kind, key);
        const [strings, numbers] = shapes[kind]!;
        if (!hasFields(v, strings, numbers)) {
          malformed++;
          continue;
        }
        if (kind === 'agent') {
          const info = readAgentInfo(v);
          if (info === null) malformed++;
          else {
            agents.set(key, info);
            agentsChanged = true;
          }
          continue;
        }
        if (kind === 'workflow') {
          workflows.set(key, v as unknown as WorkflowRecord);
          touchedWorkflows.add(key);
          continue;
        }
        const task = (v as { task?: string; id?: string }).task ?? (v as { id: string }).id;
        const e = entry(task);
        switch (kind) {
          case 'task': {
            // Concurrent workflow advances write the same task; versions differ only in submitter and time.
            const spec = readTaskSpec(v);
            if (spec === null || spec.id !== key) {
              malformed++;
              continue;
            }
            e.spec = spec;
            if (e.derived === null || !terminalStatuses.has(e.derived.status)) open.add(task);
            for (const dep of spec.dependsOn) {
              let set = dependents.get(dep);
              if (set === undefined) dependents.set(dep, (set = new Set()));
              set.add(task);
            }
            if (spec.workflow !== null) touchedWorkflows.add(spec.workflow.run);
            break;
          }
          case 'claim':
            e.claims.set(key, v as unknown as Claim);
            break;
          case 'lease':
            e.leases.set(key, v as unknown as Lease);
            break;
          case 'start':
            e.starts.set(key, v as unknown as AttemptStart);
            break;
          case 'end': {
            const end = v as unknown as AttemptEnd;
            if (!e.ends.has(key)) {
              const s = stats.get(end.agent) ?? { successes: 0, failures: 0, latencySum: 0 };
              if (end.outcome === 'succeeded') {
                s.successes++;
                s.latencySum += end.endedAt - end.startedAt;
              } else if (end.outcome === 'failed' || end.outcome === 'timed-out') s.failures++;
              stats.set(end.agent, s);
            }
            e.ends.set(key, end);
            break;
          }
          case 'expiry':
            e.expiries.set(key, v as unknown as EpochExpiry);
            break;
          case 'cancel':
            e.cancel = v as unknown as Cancellation;
            break;
          case 'timeout':
            e.startTimeout = v as unknown as StartTimeout;
            break;
          case 'progress':
            e.progress = v as unknown as Progress;
            break;
        }
        touched.add(task);
      }
      return { tasks: touched, agents: agentsChanged, workflows: touchedWorkflows, malformed };
    },
    spec: (id) => tasks.get(id)?.spec ?? null,
    records(id) {
      const e = tasks.get(id);
      if (e === undefined || e.spec === null) return null;
      return {
        spec: e.spec,
        claims: [...e.claims.values()],
        leases: [...e.leases.values()],
        starts: [...e.starts.values()],
        ends: [...e.ends.values()],
        expiries: [...e.expiries.values()],
        cancel: e.cancel,
        startTimeout: e.startTimeout,
        progress: e.progress,
      };
    },
    derive(id) {
      const e = tasks.get(id);
      if (e === undefined || e.spec === null) return null;
      if (e.derived === null) {
        const d = deriveTask(index.records(id)!, statusOf);
        e.derived = d;
        const held = (d.status === 'claimed' || d.status === 'running') && d.winner !== null;
        setHolder(e, held ? d.winner.agent : null);
        if (terminalStatuses.has(d.status)) open.delete(id);
        else open.add(id);
      }
      return e.derived;
    },
    invalidate(id) {
      const out: TaskId[] = [];
      const stack = [id];
      const seen = new Set<TaskId>();
      while (stack.length > 0) {
        const t = stack.pop()!;
        if (seen.has(t)) continue;
        seen.add(t);
        const e = tasks.get(t);
        if (e !== undefined) e.derived = null;
        out.push(t);
        for (const d of dependents.get(t) ?? []) stack.push(d);
      }
      return out;
    },
    taskIds: () => [...tasks.keys()].filter((id) => tasks.get(id)!.spec !== null),
    openTasks: () => open,
    agents: () => agents,
    load: (agent) => loads.get(agent) ?? 0,
    stats(agent) {
      const s = stats.get(agent);
      if (s === undefined) return { successes: 0, failures: 0, meanLatencyMs: null };
      return {
        successes: s.successes,
        failures: s.failures,
        meanLatencyMs: s.successes === 0 ? null : s.latencySum / s.successes,
      };
    },
    workflows: () => workflows,
  };
  return index;
}
