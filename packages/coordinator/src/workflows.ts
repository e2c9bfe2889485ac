import type { ReplicaId, Value } from '@meshwork/core';
import { CoordinatorError, invalid } from './errors.ts';
import { hashId } from './hash.ts';
import {
  checkData,
  checkTaskId,
  type SubmitInput,
  type TaskId,
  type TaskSpec,
  type WorkflowRef,
} from './model.ts';
import type { RecordWrite } from './store.ts';
import { taskRecord } from './stored-records.ts';
import type { TaskIndex } from './task-index.ts';
import { readTraceContext, type TraceContext } from './trace-context.ts';
import { planWorkflow, type StepState } from './workflow/plan.ts';
import { checkParams, parseTemplate, type Template, type WorkflowTemplate } from './workflow/template.ts';

export interface WorkflowView {
  readonly run: string;
  readonly name: string;
  readonly status: 'running' | 'succeeded' | 'failed';
  readonly steps: { readonly [step: string]: StepState };
  readonly tasks: readonly TaskId[];
  readonly reason: string | null;
}

export interface Workflows {
  /** Starts a run of `template`; returns its id. Any node may advance it from then on. */
  start(
    template: WorkflowTemplate,
    params?: { readonly [name: string]: Value },
    options?: { readonly id?: string },
  ): string;
  get(run: string): WorkflowView | null;
  list(): WorkflowView[];
  /** @internal Marks a run for re-planning at the next scheduling pass. */
  markDirty(run: string): void;
  /** @internal Plans dirty runs; returns the task records still missing. */
  advance(): RecordWrite[];
}

interface Deps {
  readonly index: TaskIndex;
  readonly replica: ReplicaId;
  now(): number;
  write(records: readonly RecordWrite[]): void;
  submitSpec(input: SubmitInput, id: TaskId, ref: WorkflowRef): TaskSpec;
  /** Starts the run's span; its context goes into the run's record and from there into its tasks. */
  traceStart(
    run: string,
    name: string,
  ): { readonly trace: TraceContext | undefined; readonly end: () => void };
}

export function createWorkflows(deps: Deps): Workflows {
  const { index } = deps;
  const dirty = new Set<string>();
  const templates = new Map<string, Template | null>();
  let counter = 0;

  const templateOf = (run: string): Template | null => {
    if (!templates.has(run)) {
      const rec = index.workflows().get(run);
      let t: Template | null = null;
      try {
        t = rec === undefined ? null : parseTemplate(rec.template as unknown as WorkflowTemplate);
      } catch (e) {
        if (!(e instanceof CoordinatorError)) throw e;
      }
      if (rec !== undefined) templates.set(run, t);
      return t;
    }
    return templates.get(run)!;
  };

  const lookup = (
    id: TaskId,
  ):
    | { status: 'pending' | 'claimed' | 'running' | 'succeeded' | 'failed' | 'cancelled'; result: Value }
    | undefined => {
    const d = index.derive(id);
    return d === null ? undefined : { status: d.status, result: d.accepted?.result ?? null };
  };

  const plan = (run: string) => {
    const t = templateOf(run);
    const rec = index.workflows().get(run);
    if (t === null || rec === undefined) return null;
    return { template: t, plan: planWorkflow(run, t, rec.params, lookup) };
  };

  const viewOf = (run: string): WorkflowView | null => {
    const p = plan(run);
    if (p === null) return null;
    return {
      run,
      name: p.template.name,
      status: p.plan.status,
      steps: p.plan.steps,
      tasks: p.plan.tasks.map((t) => t.id),
      reason: p.plan.reason,
    };
  };

  return {
    start(template, params = {}, options = {}) {
      // Both are stored as plain data: held to the limits before anything walks them.
      checkData('template', template);
      checkData('params', params);
      const t = parseTemplate(template);
      checkParams(t, params);
      const run =
        options.id === undefined
          ? `wf-run-${hashId(`${deps.replica}\u0000${deps.now()}\u0000${++counter}`)}`
          : checkTaskId('id', options.id);
      if (index.workflows().has(run)) throw invalid('id', `workflow run "${run}" exists`);
      // Stored as plain data so every replica can re-plan it.
      const stored = JSON.parse(JSON.stringify(template)) as Value;
      const { trace, end } = deps.traceStart(run, t.name);
      try {
        deps.write([
          {
            kind: 'workflow',
            key: run,
            value: {
              run,
              template: stored,
              params,
              startedAt: deps.now(),
              startedBy: deps.replica,
              ...(trace !== undefined && { trace: { ...trace } }),
            },
          },
        ]);
      } finally {
        end();
      }
      return run;
    },
    get: (run) => viewOf(run),
    list: () => [...index.workflows().keys()].map((run) => viewOf(run)!).filter((v) => v !== null),
    markDirty: (run) => void dirty.add(run),
    advance() {
      const writes: RecordWrite[] = [];
      for (const run of dirty) {
        const p = plan(run);
        if (p === null) continue;
        const stored = index.workflows().get(run)?.trace;
        const trace = stored === undefined ? undefined : readTraceContext(stored);
        for (const task of p.plan.tasks) {
          if (index.spec(task.id) !== null) continue;
          const spec = deps.submitSpec(task.submit, task.id, task.ref);
          // Every replica that advances the run writes the same record: the run's context is the same everywhere.
          const traced = trace === undefined ? spec : { ...spec, trace };
          writes.push({ kind: 'task', key: spec.id, value: taskRecord(traced) });
        }
      }
      dirty.clear();
      return writes;
    },
  };
}
