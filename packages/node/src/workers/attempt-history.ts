import type { HeldAttempt } from './held-attempt.ts';
import type { ReportAnswer } from './protocol.ts';
import { dropAttempt, type PullWorker } from './pull-worker.ts';
import { RecentMap } from './recent-map.ts';

/** What became of an attempt that ended. */
export interface EndedAttempt {
  readonly workerId: string;
  readonly outcome: 'succeeded' | 'failed' | 'aborted' | 'released';
  readonly reason: string;
  /** What the verdict was answered, so the same verdict sent again gets the same answer. */
  readonly answer?: ReportAnswer;
}

/** Recently ended attempts, to answer a late or repeated report about one. */
export interface AttemptHistory {
  /** Takes the attempt off its worker and records how it ended; false when it had already ended. */
  end(w: PullWorker, h: HeldAttempt, end: EndedAttempt): boolean;
  get(taskId: string, epoch: number): EndedAttempt | undefined;
  /** The answer already given to this verdict, when a worker sends it again (its first answer was lost). */
  repeated(
    w: PullWorker,
    taskId: string,
    epoch: number,
    outcome: ReportAnswer['outcome'],
  ): ReportAnswer | undefined;
}

export function createAttemptHistory(max: number): AttemptHistory {
  const ended = new RecentMap<string, EndedAttempt>(max);
  const key = (taskId: string, epoch: number): string => `${taskId}|${epoch}`;
  return {
    end(w, h, end) {
      if (!dropAttempt(w, h)) return false;
      ended.set(key(h.task.id, h.ctx.epoch), end);
      return true;
    },
    get: (taskId, epoch) => ended.get(key(taskId, epoch)),
    repeated(w, taskId, epoch, outcome) {
      const end = ended.get(key(taskId, epoch));
      return end?.workerId === w.id && end.answer?.outcome === outcome ? end.answer : undefined;
    },
  };
}
