import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import type { RemovedTask, TaskDetail } from '../api/types.ts';
import { AttemptTimeline } from '../components/attempt-timeline.tsx';
import { ErrorNote } from '../components/error-note.tsx';
import { StatusBadge } from '../components/status-badge.tsx';
import { href, useLive, usePolled } from '../state/hooks.ts';
import { useDashboard } from './context.ts';

const FINISHED = new Set(['succeeded', 'failed', 'cancelled']);

const json = (v: unknown): string => JSON.stringify(v, null, 2);

/** One task: its fields, attempts on a timeline, progress and result; cancel while it is open. */
export function TaskPage({ id }: { id: string }): JSX.Element {
  const { client, store, nodeName } = useDashboard();
  const live = useLive(store).tasks.get(id);
  // Read again whenever the live copy changes, and every few seconds for attempts' ends.
  const { data, error } = usePolled<TaskDetail | RemovedTask>(
    client,
    `/v1/tasks/${encodeURIComponent(id)}`,
    3_000,
    live,
  );
  const [cancelError, setCancelError] = useState<unknown>(undefined);
  const [cancelling, setCancelling] = useState(false);
  if (data === undefined)
    return error !== undefined ? <ErrorNote error={error} /> : <p class="muted">Loading task {id}…</p>;
  if ('removed' in data) return <RemovedTaskPage task={data} />;
  const task = { ...data, ...(live ?? {}) };
  const attempts = data.history;

  const cancel = async (): Promise<void> => {
    setCancelError(undefined);
    setCancelling(true);
    try {
      await client.post(`/v1/tasks/${encodeURIComponent(id)}/cancel`, {});
    } catch (err) {
      setCancelError(err);
    } finally {
      setCancelling(false);
    }
  };

  return (
    <section>
      <TaskHeading id={id} status={task.status} />
      <dl class="fields">
        <dt>Type</dt>
        <dd>{task.type}</dd>
        <dt>Needs</dt>
        <dd>{task.needs.join(', ')}</dd>
        <dt>Agent</dt>
        <dd>{task.agent ?? '—'}</dd>
        <dt>Epoch / attempts</dt>
        <dd>
          {task.epoch} / {task.attempts}
        </dd>
        <dt>Submitted</dt>
        <dd>
          {new Date(task.submittedAt).toLocaleString()} by {nodeName(task.submittedBy)}
        </dd>
        {task.workflow !== null && (
          <>
            <dt>Workflow</dt>
            <dd>
              <a href={href('workflows', task.workflow.run)}>{task.workflow.run}</a> step {task.workflow.step}
            </dd>
          </>
        )}
      </dl>
      {!FINISHED.has(task.status) && (
        <p>
          <button id="cancel-task" class="danger" disabled={cancelling} onClick={() => void cancel()}>
            Cancel task
          </button>
        </p>
      )}
      <ErrorNote error={cancelError} />
      <h3>Attempts</h3>
      <AttemptTimeline
        attempts={attempts}
        submittedAt={task.submittedAt}
        now={Date.now()}
        nodeName={nodeName}
      />
      {task.progress !== null && (
        <>
          <h3>Progress</h3>
          <pre>{json(task.progress)}</pre>
        </>
      )}
      <h3>{task.error !== null ? 'Error' : 'Result'}</h3>
      <pre id="task-result">{task.error ?? (task.result === null ? '—' : json(task.result))}</pre>
      <h3>Input</h3>
      <pre>{json(task.input)}</pre>
    </section>
  );
}

/** What this node archived of a task the mesh has removed: its end and its attempts. */
function RemovedTaskPage({ task }: { task: RemovedTask }): JSX.Element {
  const { nodeName } = useDashboard();
  const start = Math.min(...task.history.map((a) => a.startedAt), task.finishedAt ?? Date.now());
  return (
    <section>
      <TaskHeading id={task.id} status={task.status ?? 'unknown'} />
      <p class="muted">
        Removed from the mesh after its retention period; this is what this node archived
        {task.finishedAt !== null ? `, finished ${new Date(task.finishedAt).toLocaleString()}` : ''}.
      </p>
      <h3>Attempts</h3>
      <AttemptTimeline
        attempts={task.history}
        submittedAt={start}
        now={task.finishedAt ?? Date.now()}
        nodeName={nodeName}
      />
      <h3>{task.error !== null ? 'Error' : 'Result'}</h3>
      <pre id="task-result">{task.error ?? (task.result === null ? '—' : json(task.result))}</pre>
    </section>
  );
}

/** The way back to the list, and the task's id and status. */
function TaskHeading({ id, status }: { id: string; status: string }): JSX.Element {
  return (
    <>
      <p>
        <a href={href('tasks')}>← all tasks</a>
      </p>
      <h2>
        Task <span class="mono">{id}</span> <StatusBadge status={status} />
      </h2>
    </>
  );
}
