import type { ApiClient } from '../api/client.ts';
import { openEventStream, type StreamEvent } from '../api/event-stream.ts';
import type { Page, Task, Workflow } from '../api/types.ts';

export interface LiveState {
  readonly tasks: ReadonlyMap<string, Task>;
  readonly workflows: ReadonlyMap<string, Workflow>;
  readonly connected: boolean;
  /** Counts `peers` events: the mesh view reloads when it changes. */
  readonly peerChanges: number;
  /** Counts `memory` events: the memory view reloads when it changes. */
  readonly memoryChanges: number;
}

export interface LiveStore {
  state(): LiveState;
  /** `listener` runs at most once per render interval, however many events arrived. */
  subscribe(listener: () => void): () => void;
  close(): void;
}

/** Most tasks the API lists at once. */
const TASK_LIMIT = 10_000;

/**
 * The tasks and workflow runs of the mesh, loaded once and then kept current from the event
 * stream; listeners hear of changes at most every `renderMs`, so a burst of events costs one
 * render. After a reconnect it loads everything again (events may have been missed).
 */
export function createLiveStore(client: ApiClient, renderMs = 250): LiveStore {
  const tasks = new Map<string, Task>();
  const workflows = new Map<string, Workflow>();
  let connected = false;
  let peerChanges = 0;
  let memoryChanges = 0;
  let snapshot: LiveState = { tasks, workflows, connected, peerChanges, memoryChanges };
  const listeners = new Set<() => void>();
  let pending: ReturnType<typeof setTimeout> | undefined;

  const changed = (): void => {
    if (pending !== undefined) return;
    pending = setTimeout(() => {
      pending = undefined;
      // New Map objects, so views memoised on them see the change.
      snapshot = {
        tasks: new Map(tasks),
        workflows: new Map(workflows),
        connected,
        peerChanges,
        memoryChanges,
      };
      for (const l of listeners) l();
    }, renderMs);
  };

  /** Every run, a page at a time: runs are few beside tasks, and the graph view shows any of them. */
  const allWorkflows = async (): Promise<Workflow[]> => {
    const runs: Workflow[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
      const page: Page<Workflow> = await client.get<Page<Workflow>>(
        `/v1/workflows?limit=${TASK_LIMIT}${query}`,
      );
      runs.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor !== null);
    return runs;
  };

  // Events that arrive while a load is in flight are newer than what it returns: kept over it.
  let newer: { tasks: Map<string, Task | null>; workflows: Map<string, Workflow> } | undefined;
  const load = async (): Promise<void> => {
    const seen = { tasks: new Map<string, Task | null>(), workflows: new Map<string, Workflow>() };
    newer = seen;
    const [taskList, runList] = await Promise.all([
      client.get<Page<Task>>(`/v1/tasks?limit=${TASK_LIMIT}`).then((page) => page.items),
      allWorkflows(),
    ]).finally(() => {
      if (newer === seen) newer = undefined;
    });
    tasks.clear();
    for (const t of taskList) tasks.set(t.id, t);
    for (const [id, t] of seen.tasks) {
      if (t === null) tasks.delete(id);
      else tasks.set(id, t);
    }
    workflows.clear();
    for (const w of runList) workflows.set(w.id, w);
    for (const [id, w] of seen.workflows) workflows.set(id, w);
    changed();
  };

  const onEvent = (event: StreamEvent): void => {
    switch (event.type) {
      case 'task': {
        const t = JSON.parse(event.data) as Task;
        tasks.set(t.id, t);
        newer?.tasks.set(t.id, t);
        break;
      }
      case 'workflow': {
        const w = JSON.parse(event.data) as Workflow;
        workflows.set(w.id, w);
        newer?.workflows.set(w.id, w);
        break;
      }
      case 'removed': {
        const { id } = JSON.parse(event.data) as { id: string };
        tasks.delete(id);
        newer?.tasks.set(id, null);
        break;
      }
      case 'peers':
        peerChanges++;
        break;
      case 'memory':
        memoryChanges++;
        break;
      default:
        return;
    }
    changed();
  };

  const close = openEventStream({
    url: '/v1/events',
    headers: client.headers,
    onEvent,
    onState(up) {
      connected = up;
      changed();
      if (up) load().catch(() => undefined);
    },
  });

  return {
    state: () => snapshot,
    subscribe(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    close() {
      close();
      clearTimeout(pending);
      listeners.clear();
    },
  };
}
