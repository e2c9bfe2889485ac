import type { Clock } from '../clock.ts';
import type { Emitter } from '@meshwork/core';
import type { CoordinatorEvents } from '../events.ts';
import type { AgentId, TaskId } from '../model.ts';
import type { Retention } from '../retention.ts';
import { terminalStatuses, type DerivedTask, type TaskStatus } from '../status.ts';
import type { TaskIndex } from '../task-index.ts';
import { taskView } from './task-view.ts';

/**
 * Tells what happened to a task, once per change: the `task`, `settled` and `gone` events, and
 * retention (which counts a finished task's age from when this replica saw it finish).
 */
export interface TaskWatchers {
  /** A task's derived state, after any of its records changed: reported if status, holder or progress moved. */
  changed(id: TaskId, d: DerivedTask): void;
  /** A task whose records are gone (removed here or by another replica). */
  gone(id: TaskId): void;
}

export interface TaskWatchersDeps {
  readonly index: TaskIndex;
  readonly clock: Clock;
  readonly events: Emitter<CoordinatorEvents>;
  readonly retention: Pick<Retention, 'finished' | 'forget'>;
}

/** What watchers and the `settled` event were last told of a task. */
interface SeenState {
  readonly status: TaskStatus;
  readonly epoch: number;
  readonly agent: AgentId | null;
  readonly progressAt: number | null;
}

export function createTaskWatchers(deps: TaskWatchersDeps): TaskWatchers {
  const { index, clock, events, retention } = deps;
  const lastSeen = new Map<TaskId, SeenState>();
  return {
    changed(id, d) {
      const agent = d.accepted?.agent ?? d.winner?.agent ?? null;
      const progressAt = index.progress(id)?.at ?? null;
      const seen = lastSeen.get(id);
      if (
        seen !== undefined &&
        seen.status === d.status &&
        seen.epoch === d.epoch &&
        seen.agent === agent &&
        seen.progressAt === progressAt
      )
        return;
      lastSeen.set(id, { status: d.status, epoch: d.epoch, agent, progressAt });
      if (events.listens('task')) events.emit('task', [taskView(index, id, d)]);
      if (terminalStatuses.has(d.status)) {
        events.emit('settled', [{ task: id, status: d.status, at: clock.now() }]);
        retention.finished(id, clock.now());
      }
    },
    gone(id) {
      if (lastSeen.delete(id)) events.emit('gone', [{ task: id, at: clock.now() }]);
      retention.forget(id);
    },
  };
}
