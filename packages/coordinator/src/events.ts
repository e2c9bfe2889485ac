import type { ReplicaId } from '@meshwork/core';
import type { TaskView } from './coordinator/task-view.ts';
import type { AgentId, AttemptOutcome, AttemptRow, TaskId } from './model.ts';
import type { TaskStatus } from './status.ts';

/**
 * Events for metrics, task history and live views, emitted on the replica where they happen
 * (`coordinator.events.on(name, listener)`). A listener that throws ends that emit: the error
 * reaches the coordinator step that emitted (as a store listener's error does), so listeners
 * should not throw; the next event reaches every listener again.
 */
export interface CoordinatorEvents {
  /** This replica caught up with its peers (`options.catchUp` settled): from now on it claims. */
  ready: (e: { at: number }) => void;
  submit: (e: { task: TaskId; at: number }) => void;
  claim: (e: { task: TaskId; epoch: number; agent: AgentId; score: number; at: number }) => void;
  start: (e: { task: TaskId; epoch: number; agent: AgentId; submittedAt: number; at: number }) => void;
  /** An attempt ended: one task-history row. */
  attempt: (e: AttemptRow & { readonly endedAt: number; readonly outcome: AttemptOutcome }) => void;
  /**
   * This replica declared an epoch's holder lost, so the task can move to another agent: its lease
   * ran out (`lease`), its node is unreachable (`unreachable`), or it is this node's own from before
   * a restart (`restart`). `started`: whether the attempt had started, or only the claim was made.
   */
  failover: (e: {
    task: TaskId;
    epoch: number;
    agent: AgentId;
    node: ReplicaId;
    at: number;
    reason: 'lease' | 'unreachable' | 'restart';
    started: boolean;
  }) => void;
  /**
   * This replica ran nothing from `from` to `to` (a blocked or starved event loop, more than half
   * a lease): the mesh may have taken it for gone. Until it hears from the mesh again, or until
   * `holdUntil` at the latest, it claims nothing, starts nothing and declares no other node's
   * epoch lost. Told as it wakes (`reason: 'woke'`), and again, with a later `holdUntil`, when
   * nodes lost in the stall's wake begin a longer hold (`'lost-nodes'`).
   */
  stalled: (e: { from: number; to: number; holdUntil: number; reason: 'woke' | 'lost-nodes' }) => void;
  /**
   * This replica lost every other node at once (`lost` of them, more than one, within the settle
   * window; its last links closed): it is more likely cut off than the survivor of a mesh that
   * died. Until a node is reachable again (plus the settle window) and a record from another
   * replica has arrived since, or until `holdUntil` at the latest, it claims nothing, starts
   * nothing and declares no other node's epoch lost.
   */
  isolated: (e: { at: number; lost: number; holdUntil: number }) => void;
  /** A task's status, holder or progress changed here (what `watch` reports). */
  task: (task: TaskView) => void;
  settled: (e: { task: TaskId; status: TaskStatus; at: number }) => void;
  /** This replica removed finished tasks (with their workflow run, if any) from the shared state. */
  removed: (e: { tasks: readonly TaskId[]; run: string | null; at: number }) => void;
  /** A task this replica knew left its state: removed here or by another replica once finished. */
  gone: (e: { task: TaskId; at: number }) => void;
  /** Records from the shared state that did not have the expected shape and were ignored. */
  malformed: (e: { count: number }) => void;
}

/** What an event of CoordinatorEvents carries, e.g. `CoordinatorEvent<'settled'>`. */
export type CoordinatorEvent<K extends keyof CoordinatorEvents> = Parameters<CoordinatorEvents[K]>[0];
