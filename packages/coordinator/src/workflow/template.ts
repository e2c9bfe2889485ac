import type { Value } from '@meshwork/core';
import { CoordinatorError, invalid } from '../errors.ts';
import { checkName } from '../model.ts';
import { invalidFrom, stepTaskSchema, type TaskInput } from '../task-schema.ts';
import { compile } from './expression.ts';

/**
 * One step of a workflow template. Steps run after the steps named in `after`
 * (default: the previous step, so a plain list is linear; `after: []` or a shared
 * `after` runs steps in parallel). Expressions see `params`, `steps.<id>.result`
 * (`steps.<id>.results` for for-each and loop steps), and `item`, `index`, `iteration`.
 */
export interface StepTemplate {
  readonly id: string;
  readonly type: string;
  readonly needs?: readonly string[];
  readonly after?: readonly string[];
  /** Conditional: the step (and so every step after it) is skipped when this is false. */
  readonly when?: string;
  /** For-each: one task per element of the array this evaluates to, run in parallel. */
  readonly forEach?: string;
  /** Loop: iterations one after another while this is true (evaluated after each, with `steps.<id>.result` the last result). */
  readonly repeatWhile?: string;
  /** Cap on loop iterations. */
  readonly maxIterations?: number;
  /** Task input: each field an expression. */
  readonly input?: { readonly [field: string]: string };
  readonly priority?: TaskInput['priority'];
  readonly resources?: TaskInput['resources'];
  readonly retry?: TaskInput['retry'];
  readonly timeouts?: TaskInput['timeouts'];
}

export interface WorkflowTemplate {
  readonly name: string;
  /** Parameter names the template requires. */
  readonly params?: readonly string[];
  readonly steps: readonly StepTemplate[];
}

/** A validated step: defaults resolved, expressions compiled once to check syntax. */
export interface Step extends StepTemplate {
  readonly after: readonly string[];
}

export interface Template {
  readonly name: string;
  readonly params: readonly string[];
  readonly steps: readonly Step[];
}

/** Validates a template: names, unique step ids, known `after` references (which keeps it acyclic), expressions. */
export function parseTemplate(t: WorkflowTemplate): Template {
  if (typeof t !== 'object' || t === null) throw invalid('template', 'must be an object');
  const name = checkName('template.name', t.name);
  const params = (t.params ?? []).map((p, i) => checkName(`template.params[${i}]`, p));
  if (!Array.isArray(t.steps) || t.steps.length === 0)
    throw invalid('template.steps', 'must be a non-empty array');
  const seen = new Set<string>();
  const steps: Step[] = t.steps.map((s: StepTemplate, i) => {
    const f = `template.steps[${i}]`;
    if (typeof s !== 'object' || s === null) throw invalid(f, 'must be an object');
    const id = checkName(`${f}.id`, s.id);
    if (seen.has(id)) throw new CoordinatorError('workflow', `duplicate step id "${id}"`, `${f}.id`);
    checkName(`${f}.type`, s.type);
    const previous = i === 0 ? [] : [t.steps[i - 1]!.id];
    const after = s.after === undefined ? previous : s.after.map((a, j) => checkName(`${f}.after[${j}]`, a));
    // Only earlier steps may be named, so the step graph is a DAG by construction.
    for (const a of after)
      if (!seen.has(a)) throw new CoordinatorError('workflow', `"${a}" is not an earlier step`, `${f}.after`);
    for (const key of ['when', 'forEach', 'repeatWhile'] as const) {
      if (s[key] !== undefined) compile(s[key], `${f}.${key}`);
    }
    if (s.forEach !== undefined && s.repeatWhile !== undefined) {
      throw new CoordinatorError('workflow', 'a step is either for-each or a loop, not both', f);
    }
    const maxIterations = s.maxIterations ?? 100;
    if (!Number.isSafeInteger(maxIterations) || maxIterations < 1 || maxIterations > 10_000) {
      throw invalid(`${f}.maxIterations`, 'must be an integer from 1 to 10000');
    }
    for (const [field, src] of Object.entries(s.input ?? {})) compile(src, `${f}.input.${field}`);
    const task = stepTaskSchema.safeParse({
      priority: s.priority,
      resources: s.resources,
      retry: s.retry,
      timeouts: s.timeouts,
    });
    if (!task.success) throw invalidFrom(task.error, f);
    seen.add(id);
    return { ...s, after, maxIterations };
  });
  return { name, params, steps };
}

export function checkParams(template: Template, params: { readonly [name: string]: Value }): void {
  if (typeof params !== 'object' || params === null) throw invalid('params', 'must be an object');
  for (const p of template.params)
    if (!(p in params)) throw invalid(`params.${p}`, 'is required by the template');
}
