import type { WorkerService, WorkerSession } from '../workers/protocol.ts';
import { ToolRefusal } from './refusal.ts';

/**
 * What one MCP session knows of its caller: whether it opened the session with the API key, and
 * the pull-worker registration `register_agent` made for it (at most one per session).
 */
export interface AgentSession {
  readonly authorized: boolean;
  worker: WorkerSession | undefined;
}

/** The session's registration while the node still holds it (not expired or unregistered). */
export function liveWorker(session: AgentSession, workers: WorkerService): WorkerSession | undefined {
  const w = session.worker;
  return w !== undefined && workers.list().some((x) => x.workerId === w.workerId) ? w : undefined;
}

/** The session's registration, expired or not (the worker service refuses for an expired one), or a refusal. */
export function registeredWorker(session: AgentSession): WorkerSession {
  if (session.worker === undefined)
    throw new ToolRefusal('no_agent', 'this session has no agent: call register_agent first');
  return session.worker;
}
