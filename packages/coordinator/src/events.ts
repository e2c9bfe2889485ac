import type { ReplicaId } from '@meshwork/core';
import type { AgentId, AttemptOutcome, AttemptRow, TaskId } from './model.ts';
import type { TaskStatus } from './status.ts';

/** Events for metrics and task history. Emitted on the replica where they happen. */
export interface CoordinatorEvents {
  /** This replica caught up with its peers (`options.catchUp` settled): from now on it claims. */
  ready: { at: number };
  submit: { task: TaskId; at: number };
  claim: { task: TaskId; epoch: number; agent: AgentId; score: number; at: number };
  start: { task: TaskId; epoch: number; agent: AgentId; submittedAt: number; at: number };
  /** An attempt ended: one task-history row. */
  attempt: AttemptRow & { readonly endedAt: number; readonly outcome: AttemptOutcome };
  /** This replica declared an epoch's holder lost, so the task can move to another agent. */
  failover: { task: TaskId; epoch: number; agent: AgentId; node: ReplicaId; at: number };
  settled: { task: TaskId; status: TaskStatus; at: number };
  /** This replica removed finished tasks (with their workflow run, if any) from the shared state. */
  removed: { tasks: readonly TaskId[]; run: string | null; at: number };
  /** A task this replica knew left its state: removed here or by another replica once finished. */
  gone: { task: TaskId; at: number };
  /** Records from the shared state that did not have the expected shape and were ignored. */
  malformed: { count: number };
}

export interface Emitter<E> {
  on<K extends keyof E>(event: K, listener: (payload: E[K]) => void): () => void;
  emit<K extends keyof E>(event: K, payload: E[K]): void;
}

export function createEmitter<E>(): Emitter<E> {
  const listeners = new Map<keyof E, Set<(payload: never) => void>>();
  return {
    on(event, listener) {
      let set = listeners.get(event);
      if (set === undefined) listeners.set(event, (set = new Set()));
      set.add(listener);
      return () => void set.delete(listener);
    },
    emit(event, payload) {
      const set = listeners.get(event);
      if (set === undefined) return;
      for (const l of [...set]) (l as (p: typeof payload) => void)(payload);
    },
  };
}
