/**
 * What the scale bench and test read of a daemon, through its public surfaces only: the HTTP API
 * (`/readyz`, `/v1/agents`, `/v1/status`, `/v1/peers`, `/v1/tasks`, `/metrics`) and, for CPU and
 * memory, the process's `/proc` entries. Nothing here knows how membership or failure detection
 * work inside, so the same reads measure any implementation of them.
 */
import { readFileSync } from 'node:fs';
import { api } from '../../packages/node/test/support/processes.ts';
import type { MeshDaemon } from './daemon-mesh.ts';

/**
 * One request's limit: a daemon that does not answer within it counts as not answering. Generous,
 * as daemons on a loaded machine can take seconds to answer.
 */
const REQUEST_TIMEOUT_MS = 60_000;

/** Tries at a read that gets no answer in time, or a 408 (a daemon too busy to read the request). */
const READ_TRIES = 3;

/** GETs `path` from the daemon; any answer but those in `ok` (or none in time) throws, naming both. */
async function read<T>(daemon: MeshDaemon, path: string, ok: readonly number[] = [200]): Promise<T> {
  for (let tries = 1; ; tries++) {
    let res: { status: number; body: T };
    try {
      res = await api<T>(daemon.url, path, { timeoutMs: REQUEST_TIMEOUT_MS });
    } catch (err) {
      if (tries < READ_TRIES) continue;
      throw new Error(`${daemon.name} GET ${path}: ${(err as Error).message}`, { cause: err });
    }
    if (res.status === 408 && tries < READ_TRIES) continue;
    if (!ok.includes(res.status)) throw new Error(`${daemon.name} GET ${path}: ${res.status}`);
    return res.body;
  }
}

export interface AgentView {
  readonly id: string;
  readonly live: boolean;
}

export interface AttemptView {
  readonly agent: string;
  readonly epoch: number;
  readonly startedAt: number;
  readonly outcome: string;
}

export interface TaskView {
  readonly id: string;
  readonly status: string;
  readonly agent: string | null;
  readonly history: readonly AttemptView[];
}

/** True when the daemon answers `/readyz` with 200 (caught up, not draining). */
export async function isReady(daemon: MeshDaemon): Promise<boolean> {
  return read(daemon, '/readyz').then(
    () => true,
    () => false,
  );
}

/** The agents among `expected` that the daemon shows live. */
export async function liveAgents(daemon: MeshDaemon, expected: ReadonlySet<string>): Promise<number> {
  const agents = await read<AgentView[]>(daemon, '/v1/agents');
  return agents.filter((a) => a.live && expected.has(a.id)).length;
}

/** The tasks the daemon holds, counted by status. */
export async function taskCounts(daemon: MeshDaemon): Promise<Record<string, number>> {
  return (await read<{ tasks: Record<string, number> }>(daemon, '/v1/status')).tasks;
}

/** The peer ids the daemon is connected to. */
export async function peersOf(daemon: MeshDaemon): Promise<string[]> {
  return (await read<{ peerId: string }[]>(daemon, '/v1/peers')).map((p) => p.peerId);
}

/** A task with its attempts as the daemon knows them; undefined when it does not know the task. */
export async function taskOf(daemon: MeshDaemon, id: string): Promise<TaskView | undefined> {
  const task = await read<TaskView | { readonly error: unknown }>(
    daemon,
    `/v1/tasks/${encodeURIComponent(id)}`,
    [200, 404],
  );
  return 'id' in task ? task : undefined;
}

/** Every task the daemon holds (at most 10,000), by id, with its status. */
export async function taskStatuses(daemon: MeshDaemon): Promise<Map<string, string>> {
  const { items } = await read<{ items: { id: string; status: string }[] }>(daemon, '/v1/tasks?limit=10000');
  return new Map(items.map((t) => [t.id, t.status]));
}

/** The daemon's archive of a task's attempts (`task_history`), mesh-wide. */
export async function attemptsOf(daemon: MeshDaemon, id: string): Promise<AttemptView[]> {
  return read<AttemptView[]>(daemon, `/v1/tasks/${encodeURIComponent(id)}/history`);
}

/** The daemon's `/metrics`, in Prometheus's text format. */
export async function metricsText(daemon: MeshDaemon): Promise<string> {
  return read<string>(daemon, '/metrics');
}

/** Every sample of every series of the text format whose name is one of `names`, keyed by line head. */
export function metricSeries(text: string, names: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!names.some((n) => line.startsWith(`${n}{`) || line.startsWith(`${n} `))) continue;
    const cut = line.lastIndexOf(' ');
    out.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return out;
}

/** Bytes the daemon has sent on its Meshwork protocols, from `meshwork_transport_bytes_total`. */
export async function sentBytes(daemon: MeshDaemon): Promise<number> {
  let total = 0;
  for (const [series, bytes] of metricSeries(await metricsText(daemon), ['meshwork_transport_bytes_total']))
    if (series.includes('direction="out"')) total += bytes;
  return total;
}

/** Task statuses that are over, and those still open. */
export const FINISHED = ['succeeded', 'failed', 'cancelled'];
export const OPEN = ['pending', 'claimed', 'running'];

/** Tasks in any of `statuses`, from counts by status (taskCounts). */
export const countIn = (counts: Record<string, number>, statuses: readonly string[]): number =>
  statuses.reduce((s, k) => s + (counts[k] ?? 0), 0);

/** Clock ticks per second of `/proc/<pid>/stat`'s CPU times: 100 on every Linux that Node runs on. */
const CLOCK_TICKS = 100;

/** CPU time used so far and resident memory now (RSS and PSS), from `/proc`; null where there is no `/proc`. */
export function processStats(pid: number): { cpuMs: number; rssBytes: number; pssBytes: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces), from the state (field 3) on.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime: fields 14 and 15
    const kB = (file: string, field: string): number =>
      Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(file, 'utf8'))?.[1] ?? NaN) * 1024;
    return {
      cpuMs: (ticks * 1000) / CLOCK_TICKS,
      rssBytes: kB(`/proc/${pid}/status`, 'VmRSS'),
      // Pages shared with other processes (the Node binary's, above all) count in proportion.
      pssBytes: kB(`/proc/${pid}/smaps_rollup`, 'Pss'),
    };
  } catch {
    return null;
  }
}
