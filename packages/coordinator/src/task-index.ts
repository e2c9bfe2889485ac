import type { Value } from '@meshwork/core';
import { createAgentStatsTable } from './agent-stats.ts';
import { readAgentInfo, readTaskSpec } from './model.ts';
import type {
  AgentId,
  AgentInfo,
  AttemptEnd,
  Claim,
  Lease,
  Progress,
  TaskId,
  TaskRecords,
  TaskSpec,
} from './model.ts';
import { hasRecordShape } from './record-shapes.ts';
import type { AgentStats } from './scoring.ts';
import { deriveTask, terminalStatuses, type DerivedTask, type TaskStatus } from './status.ts';
import type { CoordinationStore, RecordChange, RecordKind } from './store.ts';
import { loadRecord } from './stored-records.ts';
import {
  emptyTaskEntry,
  entryRecordKeys,
  entryRecords,
  isEmptyEntry,
  removeAttemptRecord,
  setAttemptRecord,
  type TaskEntry,
} from './task-entry.ts';

const noTasks: ReadonlySet<TaskId> = new Set();
export interface WorkflowRecord {
  readonly run: string;
  readonly template: Value;
  readonly params: { readonly [name: string]: Value };
  readonly startedAt: number;
  /** The replica that started the run, which removes it once it is over (see Retention). */
  readonly startedBy?: string;
  /** The trace context of the run's start span, unchecked (see readTraceContext): its tasks carry it. */
  readonly trace?: Value;
}

/**
 * Everything this replica knows, indexed by task, with derived state cached per task.
 * Fed by store changes; the cache of a task (and of its dependents) is dropped when
 * any of its records changes.
 */
export interface TaskIndex {
  /**
   * Loads changed (or removed) records from the store; returns the tasks whose records changed,
   * and the claims it loaded (their stamps measure delivery delay).
   */
  apply(changes: readonly RecordChange[]): {
    tasks: Set<TaskId>;
    agents: boolean;
    workflows: Set<string>;
    malformed: number;
    claims: Claim[];
    leases: Lease[];
  };
  /** Forgets everything, before the store's state is loaded again. */
  clear(): void;
  spec(id: TaskId): TaskSpec | null;
  records(id: TaskId): TaskRecords | null;
  /** The task's latest progress record (cheaper than `records(id).progress`). */
  progress(id: TaskId): Progress | null;
  derive(id: TaskId): DerivedTask | null;
  /** Drops cached derivations of `id` and everything depending on it; returns all ids touched. */
  invalidate(id: TaskId): TaskId[];
  taskIds(): Iterable<TaskId>;
  /** Tasks whose task record is known. */
  readonly size: number;
  openTasks(): ReadonlySet<TaskId>;
  /** Tasks with records but no task record: a record that outran its task, or arrived after the task was removed. */
  orphans(): ReadonlySet<TaskId>;
  /** Every record held for a task, for removing it. */
  recordKeys(id: TaskId): RecordChange[];
  /** Tasks that depend on `id`. */
  dependents(id: TaskId): ReadonlySet<TaskId>;
  agents(): ReadonlyMap<AgentId, AgentInfo>;
  /** Changes whenever `agents()` does. */
  readonly agentsVersion: number;
  /** Tasks each agent holds (claimed or running); absent is 0. */
  loads(): ReadonlyMap<AgentId, number>;
  load(agent: AgentId): number;
  stats(agent: AgentId): AgentStats;
  workflows(): ReadonlyMap<string, WorkflowRecord>;
}

export function createTaskIndex(store: CoordinationStore): TaskIndex {
  const tasks = new Map<TaskId, TaskEntry>();
  const agents = new Map<AgentId, AgentInfo>();
  const workflows = new Map<string, WorkflowRecord>();
  const dependents = new Map<TaskId, Set<TaskId>>();
  const stats = createAgentStatsTable();
  const loads = new Map<AgentId, number>();
  const open = new Set<TaskId>();
  const orphans = new Set<TaskId>();
  let specs = 0;
  let agentsVersion = 0;

  const entry = (id: TaskId): TaskEntry => {
    let e = tasks.get(id);
    if (e === undefined) tasks.set(id, (e = emptyTaskEntry()));
    return e;
  };

  const setHolder = (e: TaskEntry, holder: AgentId | null): void => {
    if (e.holder === holder) return;
    if (e.holder !== null) loads.set(e.holder, (loads.get(e.holder) ?? 1) - 1);
    if (holder !== null) loads.set(holder, (loads.get(holder) ?? 0) + 1);
    e.holder = holder;
  };

  const statusOf = (id: TaskId): TaskStatus | undefined => index.derive(id)?.status;

  /** Drops a removed record; returns false when the task holds no such record. */
  const removeRecord = (
    kind: Exclude<RecordKind, 'agent' | 'workflow' | 'receipt'>,
    key: string,
    e: TaskEntry,
    task: TaskId,
  ): boolean => {
    if (kind !== 'task') return removeAttemptRecord(e, kind, key);
    if (e.spec === null) return false;
    for (const dep of e.spec.dependsOn) dependents.get(dep)?.delete(task);
    e.spec = null;
    specs--;
    open.delete(task);
    setHolder(e, null);
    return true;
  };

  /** Keeps `orphans` and the entry map in step with what a task holds. */
  const settleEntry = (task: TaskId, e: TaskEntry): void => {
    if (isEmptyEntry(e)) {
      tasks.delete(task);
      orphans.delete(task);
    } else if (e.spec === null) orphans.add(task);
    else orphans.delete(task);
  };

  const index: TaskIndex = {
    apply(changes) {
      const touched = new Set<TaskId>();
      const touchedWorkflows = new Set<string>();
      let agentsChanged = false;
      let malformed = 0;
      const claims: Claim[] = [];
      const leases: Lease[] = [];
      for (const { kind, key } of changes) {
        // Not a record of a task: the coordinator reads receipts where it waits for them.
        if (kind === 'receipt') continue;
        const stored = store.read(kind, key);
        const v = stored === undefined ? undefined : loadRecord(kind, key, stored.value, stored.writer);
        if (v === null) {
          malformed++;
          continue;
        }
        if (v === undefined) {
          if (kind === 'agent') agentsChanged = agents.delete(key) || agentsChanged;
          else if (kind === 'workflow') {
            if (workflows.delete(key)) touchedWorkflows.add(key);
          } else {
            // Record keys start with their task id ("task|epoch|agent"); names never hold a "|".
            const task = key.split('|', 1)[0]!;
            const e = tasks.get(task);
            if (e === undefined || !removeRecord(kind, key, e, task)) continue;
            e.derived = null;
            settleEntry(task, e);
            touched.add(task);
          }
          continue;
        }
        if (!hasRecordShape(kind, v)) {
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
        const task = kind === 'task' ? key : (v as { task: string }).task;
        const e = entry(task);
        if (kind === 'task') {
          // Concurrent workflow advances write the same task; versions differ only in submitter and time.
          const spec = readTaskSpec(v);
          if (spec === null) {
            malformed++;
            continue;
          }
          if (e.spec === null) specs++;
          e.spec = spec;
          if (e.derived === null || !terminalStatuses.has(e.derived.status)) open.add(task);
          for (const dep of spec.dependsOn) {
            let set = dependents.get(dep);
            if (set === undefined) dependents.set(dep, (set = new Set()));
            set.add(task);
          }
          if (spec.workflow !== null) touchedWorkflows.add(spec.workflow.run);
        } else {
          if (kind === 'claim') claims.push(v as unknown as Claim);
          else if (kind === 'lease') leases.push(v as unknown as Lease);
          else if (kind === 'end' && e.ends?.has(key) !== true) stats.count(v as unknown as AttemptEnd);
          setAttemptRecord(e, kind, key, v);
        }
        settleEntry(task, e);
        touched.add(task);
      }
      if (agentsChanged) agentsVersion++;
      return {
        tasks: touched,
        agents: agentsChanged,
        workflows: touchedWorkflows,
        malformed,
        claims,
        leases,
      };
    },
    clear() {
      for (const m of [tasks, agents, workflows, dependents, loads]) m.clear();
      stats.clear();
      agentsVersion++;
      open.clear();
      orphans.clear();
      specs = 0;
    },
    spec: (id) => tasks.get(id)?.spec ?? null,
    records(id) {
      const e = tasks.get(id);
      return e === undefined ? null : entryRecords(e);
    },
    progress: (id) => tasks.get(id)?.progress ?? null,
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
    get size() {
      return specs;
    },
    openTasks: () => open,
    orphans: () => orphans,
    recordKeys(id) {
      const e = tasks.get(id);
      return e === undefined ? [] : entryRecordKeys(id, e);
    },
    dependents: (id) => dependents.get(id) ?? noTasks,
    agents: () => agents,
    get agentsVersion() {
      return agentsVersion;
    },
    loads: () => loads,
    load: (agent) => loads.get(agent) ?? 0,
    stats: (agent) => stats.get(agent),
    workflows: () => workflows,
  };
  return index;
}
