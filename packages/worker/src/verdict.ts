import { PermanentError, RefusalError } from './errors.ts';
import { FIRST_RETRY_MS, MAX_RETRY_MS, pause } from './pause.ts';
import type { DaemonCalls, WorkerTask } from './protocol.ts';

/** Attempts at sending one verdict before leaving the task to the daemon's lease. */
const REPORT_TRIES = 6;
/** The protocol's limit on a failure message. */
const MAX_MESSAGE = 4096;

/** What a handler's run came to, as the protocol reports it. */
export type Verdict =
  | { readonly ok: true; readonly result: unknown }
  | { readonly ok: false; readonly message: string; readonly retryable: boolean };

function messageOf(err: unknown): string {
  const text = err instanceof Error ? err.message || err.name : String(err);
  return (text || 'failed').slice(0, MAX_MESSAGE);
}

export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** A handler's outcome as the protocol reports it: a result that is not JSON fails for good. */
export async function verdictOf(run: () => unknown): Promise<Verdict> {
  let result: unknown;
  try {
    result = await run();
  } catch (err) {
    return { ok: false, message: messageOf(err), retryable: !(err instanceof PermanentError) };
  }
  try {
    JSON.stringify(result);
  } catch (err) {
    return { ok: false, message: `the result is not JSON: ${messageOf(err)}`, retryable: false };
  }
  return { ok: true, result: result === undefined ? null : result };
}

export interface ReportDeps {
  readonly calls: Pick<DaemonCalls, 'complete' | 'fail'>;
  /** The daemon refused the report; it changed nothing. */
  readonly refused: (error: RefusalError, call: 'complete' | 'fail') => void;
  /** A call failed and is retried, up to REPORT_TRIES. */
  readonly failed: (error: Error) => void;
}

/**
 * Sends a verdict, retrying on network errors; past REPORT_TRIES the daemon's lease hands the
 * task on. A result the daemon cannot take is reported as a permanent failure instead.
 */
export async function reportVerdict(
  deps: ReportDeps,
  owner: string,
  task: WorkerTask,
  verdict: Verdict,
): Promise<void> {
  const { calls } = deps;
  let delay = FIRST_RETRY_MS;
  for (let tries = 1; ; tries++) {
    try {
      if (verdict.ok) await calls.complete(owner, task.taskId, task.epoch, verdict.result);
      else await calls.fail(owner, task.taskId, task.epoch, verdict.message, verdict.retryable);
      return;
    } catch (err) {
      if (err instanceof RefusalError) {
        // A result the daemon cannot take (past its limits) would be refused on every attempt.
        if (verdict.ok && err.status === 400) {
          verdict = {
            ok: false,
            message: `result refused: ${err.message}`.slice(0, MAX_MESSAGE),
            retryable: false,
          };
          continue;
        }
        deps.refused(err, verdict.ok ? 'complete' : 'fail');
        return;
      }
      deps.failed(asError(err));
      // Past this the daemon's lease hands the task on.
      if (tries >= REPORT_TRIES) return;
      await pause(delay);
      delay = Math.min(delay * 2, MAX_RETRY_MS);
    }
  }
}
