import { RefusalError } from './errors.ts';

/** The agent a worker registers: its id is unique in the mesh while the worker is registered. */
export interface AgentSpec {
  readonly id: string;
  readonly capabilities?: readonly string[];
  /** Tasks held at once (default 1). */
  readonly capacity?: number;
  readonly metadata?: { readonly [key: string]: unknown };
}

/** A registration's answer. */
export interface Session {
  readonly workerId: string;
  readonly agentId: string;
  readonly capabilities: readonly string[];
  readonly capacity: number;
  readonly leaseMs: number;
  readonly heartbeatMs: number;
  readonly maxWaitMs: number;
  readonly maxResultBytes: number;
}

/** One attempt of a task, as a poll delivers it. */
export interface WorkerTask {
  readonly taskId: string;
  /** Fencing token: pass it to sinks that must refuse stale writers. */
  readonly epoch: number;
  readonly attempt: number;
  /** The same for every attempt of the task. */
  readonly idempotencyKey: string;
  readonly type: string;
  readonly input: unknown;
  readonly needs: readonly string[];
  readonly priority: number;
  readonly submittedAt: number;
  readonly startedAt: number;
  /** The task's timeouts, as submitted (ms, null for none). */
  readonly timeouts: { readonly scheduleToStartMs: number | null; readonly runMs: number | null };
  /** `startedAt + timeouts.runMs`: the attempt is aborted then. */
  readonly deadline: number | null;
  readonly workflow: { readonly run: string; readonly step: string; readonly iteration: string } | null;
}

export interface HeartbeatAnswer {
  readonly leaseMs: number;
  readonly heartbeatMs: number;
  readonly tasks: readonly { readonly taskId: string; readonly epoch: number }[];
  readonly aborted: readonly { readonly taskId: string; readonly epoch: number; readonly reason: string }[];
}

/** The protocol's calls, one HTTP request each; a refusal rejects with a {@link RefusalError}. */
export interface DaemonCalls {
  register(agent: AgentSpec): Promise<Session>;
  heartbeat(workerId: string): Promise<HeartbeatAnswer>;
  poll(
    workerId: string,
    body: { readonly waitMs: number; readonly max: number },
    signal: AbortSignal,
  ): Promise<WorkerTask[]>;
  progress(workerId: string, taskId: string, epoch: number, data: unknown): Promise<void>;
  complete(workerId: string, taskId: string, epoch: number, result: unknown): Promise<void>;
  fail(workerId: string, taskId: string, epoch: number, message: string, retryable: boolean): Promise<void>;
  unregister(workerId: string): Promise<void>;
}

/** Longest wait for a daemon's answer to any call but a poll (a poll gets its wait on top). */
const CALL_TIMEOUT_MS = 10_000;

export function createDaemonCalls(options: {
  readonly url: string;
  readonly apiKey: string;
  readonly fetch?: typeof fetch;
}): DaemonCalls {
  const base = options.url.replace(/\/+$/, '');
  const doFetch = options.fetch ?? fetch;
  const call = async <T>(
    method: string,
    path: string,
    body?: unknown,
    signal: AbortSignal = AbortSignal.timeout(CALL_TIMEOUT_MS),
  ): Promise<T> => {
    const res = await doFetch(base + path, {
      method,
      headers: {
        authorization: `Bearer ${options.apiKey}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal,
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (res.ok) return json as T;
    const error = (json as { error?: { code?: unknown; message?: unknown; field?: unknown } } | undefined)
      ?.error;
    throw new RefusalError(
      res.status,
      typeof error?.code === 'string' ? error.code : `http_${res.status}`,
      typeof error?.message === 'string' ? error.message : text.slice(0, 200),
      typeof error?.field === 'string' ? error.field : undefined,
    );
  };
  const worker = (id: string): string => `/v1/workers/${encodeURIComponent(id)}`;
  const task = (workerId: string, taskId: string, verb: string): string =>
    `${worker(workerId)}/tasks/${encodeURIComponent(taskId)}/${verb}`;
  return {
    register: (agent) => call<Session>('POST', '/v1/workers', agent),
    heartbeat: (workerId) => call<HeartbeatAnswer>('POST', `${worker(workerId)}/heartbeat`, {}),
    poll: async (workerId, body, signal) =>
      (
        await call<{ tasks: WorkerTask[] }>(
          'POST',
          `${worker(workerId)}/poll`,
          body,
          AbortSignal.any([signal, AbortSignal.timeout(body.waitMs + CALL_TIMEOUT_MS)]),
        )
      ).tasks,
    progress: async (workerId, taskId, epoch, data) => {
      await call('POST', task(workerId, taskId, 'progress'), { epoch, data });
    },
    complete: async (workerId, taskId, epoch, result) => {
      await call('POST', task(workerId, taskId, 'complete'), { epoch, result });
    },
    fail: async (workerId, taskId, epoch, message, retryable) => {
      await call('POST', task(workerId, taskId, 'fail'), { epoch, message, retryable });
    },
    unregister: async (workerId) => {
      await call('DELETE', worker(workerId));
    },
  };
}
