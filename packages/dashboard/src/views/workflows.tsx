import type { JSX } from 'preact';
import { useMemo, useState } from 'preact/hooks';
import type { Task, Workflow, WorkflowTemplate } from '../api/types.ts';
import { ErrorNote } from '../components/error-note.tsx';
import { StatusBadge } from '../components/status-badge.tsx';
import { WorkflowGraph, type WorkflowStep } from '../components/workflow-graph.tsx';
import { href, useLive, usePolled } from '../state/hooks.ts';
import { useDashboard } from './context.ts';

/**
 * The run's step order: from its template when the node has it by name, else from what its
 * tasks depend on (an inline template's order shows once its tasks exist).
 */
function edgesOf(template: WorkflowTemplate | undefined, tasks: readonly Task[]): [string, string][] {
  if (template !== undefined)
    return template.steps.flatMap((s) => (s.after ?? []).map((a): [string, string] => [a, s.id]));
  const stepOf = new Map(tasks.map((t) => [t.id, t.workflow?.step]));
  const edges = new Set<string>();
  for (const t of tasks)
    for (const d of t.dependsOn) {
      const from = stepOf.get(d);
      if (from !== undefined && t.workflow !== null) edges.add(`${from}\u0000${t.workflow.step}`);
    }
  return [...edges].map((e) => e.split('\u0000') as [string, string]);
}

function StartWorkflow({ templates }: { templates: readonly WorkflowTemplate[] }): JSX.Element {
  const { client } = useDashboard();
  const [name, setName] = useState('');
  const [params, setParams] = useState('{}');
  const [error, setError] = useState<unknown>(undefined);
  const [started, setStarted] = useState<Workflow | undefined>(undefined);
  const chosen = name || templates[0]?.name || '';
  const start = async (): Promise<void> => {
    setError(undefined);
    setStarted(undefined);
    let parsed: unknown;
    try {
      parsed = JSON.parse(params);
    } catch {
      setError(new Error('params: not valid JSON'));
      return;
    }
    try {
      setStarted(await client.post<Workflow>('/v1/workflows', { template: chosen, params: parsed }));
    } catch (err) {
      setError(err);
    }
  };
  if (templates.length === 0) return <p class="muted">This node has no workflow templates configured.</p>;
  const template = templates.find((t) => t.name === chosen);
  return (
    <form
      class="panel"
      id="start-workflow"
      onSubmit={(e) => {
        e.preventDefault();
        void start();
      }}
    >
      <h3>Start a workflow</h3>
      <div class="row">
        <label>
          Template
          <select name="template" value={chosen} onChange={(e) => setName(e.currentTarget.value)}>
            {templates.map((t) => (
              <option key={t.name} value={t.name}>
                {t.name}
              </option>
            ))}
          </select>
        </label>
        <span class="muted">params: {(template?.params ?? []).join(', ') || 'none'}</span>
      </div>
      <label>
        Params (JSON)
        <textarea name="params" rows={3} value={params} onInput={(e) => setParams(e.currentTarget.value)} />
      </label>
      <button type="submit">Start</button>
      <ErrorNote error={error} />
      {started !== undefined && (
        <p class="ok">
          Started <a href={href('workflows', started.id)}>{started.id}</a>
        </p>
      )}
    </form>
  );
}

/** Workflow runs: the list, and the selected run as a graph of its steps coloured as they run. */
export function WorkflowsView({ selected }: { selected: string | undefined }): JSX.Element {
  const { client, store } = useDashboard();
  const { workflows, tasks } = useLive(store);
  const templates = usePolled<WorkflowTemplate[]>(client, '/v1/workflows/templates', 60_000);
  const runs = useMemo(() => [...workflows.values()].sort((a, b) => (a.id < b.id ? 1 : -1)), [workflows]);
  const run = selected !== undefined ? workflows.get(selected) : runs[0];
  const runTasks = useMemo(
    () =>
      run === undefined ? [] : run.tasks.map((id) => tasks.get(id)).filter((t): t is Task => t !== undefined),
    [run, tasks],
  );
  const steps: WorkflowStep[] = useMemo(
    () =>
      run === undefined
        ? []
        : Object.entries(run.steps).map(([id, state]) => ({
            id,
            state,
            tasks: runTasks.filter((t) => t.workflow?.step === id),
          })),
    [run, runTasks],
  );
  const template = templates.data?.find((t) => t.name === run?.name);
  const edges = useMemo(
    () => (run === undefined ? [] : edgesOf(template, runTasks)),
    [run, template, runTasks],
  );
  return (
    <section>
      <h2>Workflows</h2>
      <ErrorNote error={templates.error} />
      <StartWorkflow templates={templates.data ?? []} />
      <div class="columns wide-right">
        <ul class="runs">
          {runs.length === 0 && <li class="muted">No workflow runs.</li>}
          {runs.map((w) => (
            <li key={w.id} class={w.id === run?.id ? 'selected' : ''}>
              <a href={href('workflows', w.id)}>{w.id}</a> {w.name} <StatusBadge status={w.status} />
            </li>
          ))}
        </ul>
        {run !== undefined && (
          <div class="run" data-run={run.id} data-status={run.status}>
            <h3>
              {run.name} <span class="mono">{run.id}</span> <StatusBadge status={run.status} />
            </h3>
            {run.reason !== null && <p class="muted">{run.reason}</p>}
            <WorkflowGraph steps={steps} edges={edges} />
            <ul class="run-tasks">
              {runTasks.map((t) => (
                <li key={t.id}>
                  <a href={href('tasks', t.id)}>{t.id}</a> {t.workflow?.step}
                  {t.workflow?.iteration ? `[${t.workflow.iteration}]` : ''} <StatusBadge status={t.status} />{' '}
                  {t.agent ?? ''}
                </li>
              ))}
            </ul>
          </div>
        )}
      </div>
    </section>
  );
}
