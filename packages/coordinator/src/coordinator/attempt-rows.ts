import type {
  AgentId,
  AttemptEnd,
  AttemptOutcome,
  AttemptRow,
  AttemptStart,
  TaskId,
  TaskRecords,
} from '../model.ts';
import { fenced } from '../status.ts';
import { agentAttemptKey } from '../stored-records.ts';

/** Outcomes a handler reports itself, as opposed to an abort. */
const isVerdict = (o: AttemptOutcome): boolean => o === 'succeeded' || o === 'failed';

/** A task's attempts, one row per agent and epoch, oldest first. */
export function attemptRows(id: TaskId, r: TaskRecords): AttemptRow[] {
  // An attempt that ended before its start record was written has only its end.
  const attempts = new Map<string, { start?: AttemptStart; end?: AttemptEnd }>();
  const at = (x: { epoch: number; agent: AgentId }): { start?: AttemptStart; end?: AttemptEnd } => {
    const key = agentAttemptKey(id, x.epoch, x.agent);
    let a = attempts.get(key);
    if (a === undefined) attempts.set(key, (a = {}));
    return a;
  };
  for (const s of r.starts) at(s).start = s;
  for (const e of r.ends) at(e).end = e;
  return [...attempts.values()]
    .map(({ start, end }): AttemptRow => {
      const first = (start ?? end)!;
      return {
        task: id,
        attempt: first.epoch,
        epoch: first.epoch,
        agent: first.agent,
        node: first.node,
        startedAt: first.startedAt,
        endedAt: end?.endedAt ?? null,
        ...(end !== undefined && isVerdict(end.outcome) && fenced(r, end.epoch)
          ? {
              outcome: 'fenced' as const,
              error: `epoch ${end.epoch} was declared lost before this attempt's ${end.outcome === 'succeeded' ? 'result' : 'failure'} arrived; it was refused`,
            }
          : { outcome: end?.outcome ?? 'running', error: end?.error ?? null }),
      };
    })
    .sort((a, b) => a.epoch - b.epoch || (a.agent < b.agent ? -1 : 1));
}
