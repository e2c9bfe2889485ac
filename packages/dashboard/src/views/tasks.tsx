import type { JSX } from 'preact';
import { useMemo, useRef, useState } from 'preact/hooks';
import { TASK_STATUSES, type Task, type TaskStatus } from '../api/types.ts';
import { StatusBadge } from '../components/status-badge.tsx';
import { VirtualList } from '../components/virtual-list.tsx';
import { href, useLive } from '../state/hooks.ts';
import { useDashboard } from './context.ts';
import { SubmitTask } from './submit-task.tsx';

const ROW_HEIGHT = 30;

function matches(t: Task, status: TaskStatus | 'all', text: string): boolean {
  if (status !== 'all' && t.status !== status) return false;
  if (text === '') return true;
  return [t.id, t.type, t.agent ?? '', t.workflow?.run ?? '', t.workflow?.step ?? ''].some((s) =>
    s.toLowerCase().includes(text),
  );
}

/** Every task of the mesh, newest first, live; filtered by status and by text; virtualised. */
export function TasksView(): JSX.Element {
  const { store } = useDashboard();
  const { tasks } = useLive(store);
  const [status, setStatus] = useState<TaskStatus | 'all'>('all');
  const [text, setText] = useState('');
  const all = useMemo(
    () => [...tasks.values()].sort((a, b) => b.submittedAt - a.submittedAt || (a.id < b.id ? -1 : 1)),
    [tasks],
  );
  const counts = useMemo(() => {
    const c = new Map<string, number>();
    for (const t of all) c.set(t.status, (c.get(t.status) ?? 0) + 1);
    return c;
  }, [all]);
  const shown = useMemo(() => all.filter((t) => matches(t, status, text.toLowerCase())), [all, status, text]);
  // How often this list was drawn, on the page for a test to hold to the store's batching.
  const renders = useRef(0);
  renders.current++;
  return (
    <section id="tasks" data-renders={renders.current}>
      <h2>Tasks</h2>
      <SubmitTask />
      <div class="row filters">
        <select
          name="status"
          value={status}
          onChange={(e) => setStatus(e.currentTarget.value as TaskStatus | 'all')}
        >
          <option value="all">all ({all.length})</option>
          {TASK_STATUSES.map((s) => (
            <option value={s} key={s}>
              {s} ({counts.get(s) ?? 0})
            </option>
          ))}
        </select>
        <input
          name="filter"
          placeholder="filter by id, type, agent, workflow"
          value={text}
          onInput={(e) => setText(e.currentTarget.value)}
        />
        <span class="muted" id="task-count">
          {shown.length} of {all.length} tasks
        </span>
      </div>
      <div class="vhead">
        <span>Task</span>
        <span>Type</span>
        <span>Status</span>
        <span>Agent</span>
        <span>Epoch</span>
        <span>Submitted</span>
      </div>
      <VirtualList
        items={shown}
        rowHeight={ROW_HEIGHT}
        height={Math.max(240, Math.min(shown.length * ROW_HEIGHT, 520))}
        row={(t) => (
          <a class="task-row" href={href('tasks', t.id)} data-task={t.id} data-status={t.status}>
            <span class="mono">{t.id}</span>
            <span>
              {t.workflow !== null
                ? `${t.workflow.step}${t.workflow.iteration ? `[${t.workflow.iteration}]` : ''}`
                : t.type}
            </span>
            <StatusBadge status={t.status} />
            <span>{t.agent ?? '—'}</span>
            <span>{t.epoch}</span>
            <span>{new Date(t.submittedAt).toLocaleTimeString()}</span>
          </a>
        )}
      />
    </section>
  );
}
