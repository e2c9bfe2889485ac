/**
 * What the scale bench and test do to a daemon mesh, through the HTTP API: wait for readiness and
 * for every daemon to see the same thing, submit tasks spread across daemons, check how each
 * task ran, and kill the holder of a running task to see it move.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { api, sleep } from '../../packages/node/test/support/processes.ts';
import type { DaemonMesh, MeshDaemon } from './daemon-mesh.ts';
import { attemptsOf, isReady, taskOf, taskStatuses, type AttemptView, type TaskView } from './observe.ts';

/** Runs `fn` over `items`, at most `limit` at a time. */
export async function eachLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** The outcome of waiting for every daemon to satisfy a probe. */
export interface AllResult {
  /** When every daemon satisfied it at once (ms since the wait began); null if the deadline passed. */
  readonly ms: number | null;
  /** The daemons that did not, at the end (empty on success), with the last thing each said. */
  readonly failing: readonly { readonly daemon: MeshDaemon; readonly detail: string }[];
}

/**
 * Waits until `probe` holds for every daemon at once. Each daemon is asked on its own, one
 * question at a time and `intervalMs` apart (default 500 ms), until it is satisfied, so a slow
 * daemon does not hold back when the others are seen; when all have been, one pass over every
 * daemon confirms it (a daemon that fell back is asked again). The time is when the last one was
 * seen satisfied: its answer's arrival, so the figure errs late by at most one interval and one
 * answer. `probe` answers true, or a string saying what it saw instead; a daemon that does not
 * answer is not satisfied.
 */
export async function waitForAll(
  daemons: readonly MeshDaemon[],
  probe: (daemon: MeshDaemon) => Promise<true | string>,
  options: {
    readonly timeoutMs: number;
    readonly intervalMs?: number;
    readonly onProgress?: (satisfied: number) => void;
  },
): Promise<AllResult> {
  const started = performance.now();
  const deadline = started + options.timeoutMs;
  /** What each daemon not (or no longer) satisfied said last. */
  const unsatisfied = new Map<MeshDaemon, string>(daemons.map((d) => [d, 'not asked yet']));
  const seenAt = new Map<MeshDaemon, number>();
  const ask = async (d: MeshDaemon): Promise<true | string> => {
    try {
      return await probe(d);
    } catch (err) {
      return (err as Error).message;
    }
  };
  /** Asks `d` until it is satisfied, or the deadline passes. */
  const follow = async (d: MeshDaemon): Promise<void> => {
    for (;;) {
      const answer = await ask(d);
      if (answer === true) {
        seenAt.set(d, performance.now());
        unsatisfied.delete(d);
        options.onProgress?.(daemons.length - unsatisfied.size);
        return;
      }
      unsatisfied.set(d, answer);
      if (performance.now() > deadline) return;
      await sleep(options.intervalMs ?? 500);
    }
  };
  let asking: readonly MeshDaemon[] = daemons;
  for (;;) {
    await Promise.all(asking.map(follow));
    if (unsatisfied.size > 0)
      return { ms: null, failing: [...unsatisfied].map(([daemon, detail]) => ({ daemon, detail })) };
    const at = Math.max(...seenAt.values()) - started;
    await eachLimit(daemons, 8, async (d) => {
      const answer = await ask(d);
      if (answer !== true) unsatisfied.set(d, answer);
    });
    if (unsatisfied.size === 0) return { ms: at, failing: [] };
    asking = [...unsatisfied.keys()];
  }
}

/** Waits until every running daemon answers `/readyz` with 200; throws naming those that did not. */
export async function waitReady(daemons: readonly MeshDaemon[], timeoutMs: number): Promise<void> {
  const result = await waitForAll(
    daemons.filter((d) => d.running),
    async (d) => (await isReady(d)) || 'not ready',
    { timeoutMs },
  );
  if (result.ms === null)
    throw new Error(
      `not ready after ${timeoutMs} ms: ${result.failing.map((f) => f.daemon.name).join(', ')}`,
    );
}

/** A `POST /v1/tasks` body. */
export interface TaskBody {
  readonly id: string;
  readonly input: { readonly executor: 'module'; readonly handler: string; readonly input?: object };
}

/** A module task of the mesh's agents: `noop`, or `held` until `release` exists. */
export function moduleTask(id: string, handler: 'noop' | 'held', input?: { release: string }): TaskBody {
  return { id, input: { executor: 'module', handler, ...(input !== undefined ? { input } : {}) } };
}

/** Attempts at a submission that gets no answer, a 408 or a 5xx, before it is given up. */
const SUBMIT_TRIES = 5;

/** A failed request's error and its cause (fetch's own message says little). */
function failureOf(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return `${err.name} ${err.message}${cause}`;
}

/**
 * Submits each body to daemon `i % daemons.length`, `concurrency` at a time, and resolves with
 * the ids the daemons acknowledged. A 429 is retried a second later for as long as it lasts; no
 * answer in time, a 408 (a daemon too busy to read the request) or a 5xx is retried with the same
 * id, which a daemon that already holds it accepts again. Any other refusal is a bug: it throws.
 */
export async function submitSpread(
  daemons: readonly MeshDaemon[],
  bodies: readonly TaskBody[],
  options: {
    readonly concurrency: number;
    readonly onSubmitted?: (count: number) => void;
    /** Told of each submission given up, with what its last try got. */
    readonly onGiveUp?: (id: string, lastFailure: string) => void;
  },
): Promise<string[]> {
  const acked: string[] = [];
  await eachLimit(bodies, options.concurrency, async (body, i) => {
    const daemon = daemons[i % daemons.length]!;
    let lastFailure = '';
    for (let tries = 0; tries < SUBMIT_TRIES;) {
      const res = await api<unknown>(daemon.url, '/v1/tasks', { body, timeoutMs: 60_000 }).catch(
        (err: unknown) => ({ status: 0, body: err }),
      );
      if (res.status === 201 || res.status === 200) {
        acked.push(body.id);
        options.onSubmitted?.(acked.length);
        return;
      }
      if (res.status === 429) {
        await sleep(1_000);
        continue;
      }
      if (res.status !== 0 && res.status !== 408 && res.status < 500)
        throw new Error(`${daemon.name} refused task ${body.id}: ${res.status} ${JSON.stringify(res.body)}`);
      lastFailure = res.status === 0 ? failureOf(res.body) : `${res.status} ${JSON.stringify(res.body)}`;
      tries++;
      await sleep(500);
    }
    options.onGiveUp?.(body.id, `${daemon.name}: ${lastFailure}`);
  });
  return acked;
}

/**
 * How each task ran, read on one daemon after all finished: its status there and every attempt
 * that started (its `/v1/tasks/:id/history`, which holds the attempts of every agent in the mesh).
 */
export interface RunCheck {
  /** Tasks that did not succeed, with their status (undefined: the daemon does not hold them). */
  readonly lost: readonly { readonly id: string; readonly status: string | undefined }[];
  /** Tasks started more than once, with their attempts. */
  readonly duplicated: readonly { readonly id: string; readonly attempts: readonly AttemptView[] }[];
  /** Extra starts summed over the tasks: attempts beyond the first. */
  readonly duplicateStarts: number;
  /** Tasks with exactly one attempt, which succeeded. */
  readonly exactlyOnce: number;
}

export async function checkRuns(observer: MeshDaemon, ids: readonly string[]): Promise<RunCheck> {
  const statuses = await taskStatuses(observer);
  const lost = ids
    .filter((id) => statuses.get(id) !== 'succeeded')
    .map((id) => ({ id, status: statuses.get(id) }));
  const duplicated: { id: string; attempts: AttemptView[] }[] = [];
  let duplicateStarts = 0;
  let exactlyOnce = 0;
  await eachLimit(ids, 16, async (id) => {
    const attempts = await attemptsOf(observer, id);
    if (attempts.length > 1) {
      duplicated.push({ id, attempts });
      duplicateStarts += attempts.length - 1;
    } else if (attempts.length === 1 && attempts[0]!.outcome === 'succeeded') {
      exactlyOnce++;
    }
  });
  return { lost, duplicated, duplicateStarts, exactlyOnce };
}

/** What one failover round saw. */
export interface Failover {
  /** The daemon SIGKILLed: it held the task. */
  readonly killed: MeshDaemon;
  /** From the kill until another agent's attempt started (its `startedAt`); null if none did in time. */
  readonly ms: number | null;
  /** The task at the end, as a surviving daemon saw it (after it was released). */
  readonly task: TaskView | undefined;
}

/**
 * Submits a task that runs until released, waits until an agent runs it, SIGKILLs that agent's
 * daemon, and times how long until another agent's attempt starts, as a surviving daemon
 * reports it. Then releases the task and waits for it to finish there. The killed daemon stays
 * stopped.
 */
export async function failoverRound(
  mesh: DaemonMesh,
  options: { readonly id: string; readonly via: MeshDaemon; readonly timeoutMs: number },
): Promise<Failover> {
  const release = join(mesh.dir, `${options.id}.release`);
  const [acked] = await submitSpread([options.via], [moduleTask(options.id, 'held', { release })], {
    concurrency: 1,
  });
  if (acked === undefined) throw new Error(`task ${options.id} was not acknowledged`);
  let killed: MeshDaemon | undefined;
  let ms: number | null = null;
  try {
    const deadline = Date.now() + options.timeoutMs;
    let running: TaskView | undefined;
    while (running?.status !== 'running' || running.agent === null) {
      if (Date.now() > deadline)
        throw new Error(`task ${options.id} did not start: ${JSON.stringify(running)}`);
      await sleep(50);
      running = await taskOf(options.via, options.id).catch(() => undefined);
    }
    const holder = mesh.daemons.find((d) => d.agent === running.agent);
    if (holder === undefined) throw new Error(`no daemon runs agent ${running.agent}`);
    killed = holder;
    const observer = [options.via, ...mesh.daemons].find((d) => d !== holder && d.running)!;
    const killedAt = Date.now();
    await mesh.stop(holder, 'SIGKILL');
    while (ms === null && Date.now() < killedAt + options.timeoutMs) {
      const task = await taskOf(observer, options.id).catch(() => undefined);
      const moved = task?.history.find((a) => a.agent !== holder.agent && a.startedAt >= killedAt);
      if (moved !== undefined) ms = moved.startedAt - killedAt;
      else await sleep(50);
    }
  } finally {
    // Released whatever happened, so the task never holds an agent past the round.
    writeFileSync(release, '');
  }
  const observer = [options.via, ...mesh.daemons].find((d) => d !== killed && d.running)!;
  let task: TaskView | undefined;
  const finishBy = Date.now() + options.timeoutMs;
  while (Date.now() < finishBy) {
    task = await taskOf(observer, options.id).catch(() => undefined);
    if (task !== undefined && ['succeeded', 'failed', 'cancelled'].includes(task.status)) break;
    await sleep(100);
  }
  return { killed, ms, task };
}
