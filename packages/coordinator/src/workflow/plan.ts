import type { Value } from '@meshwork/core';
import { CoordinatorError } from '../errors.ts';
import { hashId } from '../hash.ts';
import type { SubmitInput, TaskId, WorkflowRef } from '../model.ts';
import type { TaskStatus } from '../status.ts';
import { compile, truthy, type Scope } from './expression.ts';
import type { Step, Template } from './template.ts';

/** What the planner needs to know about a task it planned earlier. */
export interface PlannedTaskState {
  readonly status: TaskStatus;
  readonly result: Value;
}

export interface PlannedTask {
  readonly id: TaskId;
  readonly ref: WorkflowRef;
  readonly submit: SubmitInput;
}

export type StepState = 'waiting' | 'running' | 'succeeded' | 'skipped' | 'failed';

export interface WorkflowPlan {
  readonly status: 'running' | 'succeeded' | 'failed';
  readonly steps: { readonly [step: string]: StepState };
  /** Every task the workflow has reached so far; submitting them is idempotent. */
  readonly tasks: readonly PlannedTask[];
  readonly reason: string | null;
}

/**
 * Most tasks one run may create, over all its steps and iterations. Part of the plan, so every
 * replica refuses the same step: a forEach past it fails its step instead of flooding the mesh.
 */
export const MAX_RUN_TASKS = 10_000;

/** Deterministic id of a workflow task: concurrent advances on different nodes produce the same ids and merge. */
export function workflowTaskId(run: string, step: string, iteration: string): TaskId {
  return `wf-${hashId(`${run}\u0000${step}\u0000${iteration}`)}`;
}

interface StepOutcome {
  state: StepState;
  result: Value;
  results: Value[];
  reason: string | null;
}

/**
 * Plans a workflow run from its template, parameters and the state of the tasks it has
 * created: a pure function, so any node may advance any workflow and all reach the same plan.
 */
export function planWorkflow(
  run: string,
  template: Template,
  params: { readonly [name: string]: Value },
  lookup: (id: TaskId) => PlannedTaskState | undefined,
): WorkflowPlan {
  const outcomes = new Map<string, StepOutcome>();
  const tasks: PlannedTask[] = [];
  const stepsScope: Record<string, Value> = {};

  const plan = (step: Step, iteration: string, extra: Scope): PlannedTaskState | undefined => {
    if (tasks.length >= MAX_RUN_TASKS) {
      throw new CoordinatorError(
        'workflow',
        `the run would create more than ${MAX_RUN_TASKS} tasks (limit MAX_RUN_TASKS)`,
        step.id,
      );
    }
    const scope: Scope = { params, steps: stepsScope, ...extra };
    const input: Record<string, Value> = {};
    for (const [field, src] of Object.entries(step.input ?? {}))
      input[field] = compile(src, `${step.id}.input.${field}`)(scope);
    const ref = { run, step: step.id, iteration };
    const id = workflowTaskId(run, step.id, iteration);
    tasks.push({
      id,
      ref,
      submit: {
        type: step.type,
        needs: step.needs,
        input,
        priority: step.priority,
        resources: step.resources,
        retry: step.retry,
        timeouts: step.timeouts,
        idempotencyKey: `${run}/${step.id}/${iteration}`,
      },
    });
    return lookup(id);
  };

  const collect = (states: (PlannedTaskState | undefined)[]): StepOutcome => {
    const failed = states.find((s) => s !== undefined && (s.status === 'failed' || s.status === 'cancelled'));
    if (failed !== undefined)
      return { state: 'failed', result: null, results: [], reason: `a task ${failed.status}` };
    const done = states.every((s) => s?.status === 'succeeded');
    const results = states.map((s) => s?.result ?? null);
    return { state: done ? 'succeeded' : 'running', result: results.at(-1) ?? null, results, reason: null };
  };

  const runStep = (step: Step): StepOutcome => {
    const before = step.after.map((a) => outcomes.get(a)!);
    if (before.some((o) => o.state === 'failed'))
      return { state: 'failed', result: null, results: [], reason: 'an earlier step failed' };
    if (before.some((o) => o.state === 'skipped'))
      return { state: 'skipped', result: null, results: [], reason: null };
    if (before.some((o) => o.state !== 'succeeded'))
      return { state: 'waiting', result: null, results: [], reason: null };
    const scope: Scope = { params, steps: stepsScope };
    if (step.when !== undefined && !truthy(compile(step.when, `${step.id}.when`)(scope))) {
      return { state: 'skipped', result: null, results: [], reason: null };
    }
    if (step.forEach !== undefined) {
      const items = compile(step.forEach, `${step.id}.forEach`)(scope);
      if (!Array.isArray(items))
        throw new CoordinatorError('workflow', 'forEach did not produce an array', `${step.id}.forEach`);
      // Checked before planning any item, so an oversized list creates nothing.
      if (tasks.length + items.length > MAX_RUN_TASKS) {
        throw new CoordinatorError(
          'workflow',
          `forEach produced ${items.length} items; the run may create at most ${MAX_RUN_TASKS} tasks (limit MAX_RUN_TASKS)`,
          `${step.id}.forEach`,
        );
      }
      return collect(items.map((item: Value, index) => plan(step, String(index), { item, index })));
    }
    if (step.repeatWhile !== undefined) {
      const states: (PlannedTaskState | undefined)[] = [];
      for (let i = 0; i < step.maxIterations!; i++) {
        const s = plan(step, String(i), { iteration: i });
        states.push(s);
        if (s?.status !== 'succeeded') break;
        const loopScope: Scope = {
          params,
          steps: { ...stepsScope, [step.id]: { result: s.result } },
          iteration: i,
        };
        if (!truthy(compile(step.repeatWhile, `${step.id}.repeatWhile`)(loopScope))) break;
      }
      return collect(states);
    }
    return collect([plan(step, '0', {})]);
  };

  let reason: string | null = null;
  for (const step of template.steps) {
    let outcome: StepOutcome;
    const planned = tasks.length;
    try {
      outcome = runStep(step);
    } catch (e) {
      if (!(e instanceof CoordinatorError)) throw e;
      // A step that failed while planning creates none of its tasks.
      tasks.length = planned;
      outcome = { state: 'failed', result: null, results: [], reason: e.message };
    }
    if (outcome.state === 'failed' && reason === null)
      reason = `step ${step.id}: ${outcome.reason ?? 'failed'}`;
    outcomes.set(step.id, outcome);
    stepsScope[step.id] = { result: outcome.result, results: outcome.results, state: outcome.state };
  }
  const states = [...outcomes.values()].map((o) => o.state);
  const status = states.includes('failed')
    ? 'failed'
    : states.every((s) => s === 'succeeded' || s === 'skipped')
      ? 'succeeded'
      : 'running';
  return { status, steps: Object.fromEntries([...outcomes].map(([k, o]) => [k, o.state])), tasks, reason };
}
