import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CoordinatorError, parseTemplate, type WorkflowTemplate } from '../src/index.ts';
import { planWorkflow, workflowTaskId } from '../src/internal.ts';
import { compile } from '../src/workflow/expression.ts';
import type { PlannedTaskState } from '../src/workflow/plan.ts';

const template: WorkflowTemplate = {
  name: 'pipeline',
  params: ['items', 'mode'],
  steps: [
    { id: 'fetch', type: 'io', input: { url: 'params.mode' } },
    { id: 'each', type: 'cpu', forEach: 'steps.fetch.result.items', input: { x: 'item * 10', i: 'index' } },
    {
      id: 'fast',
      type: 'cpu',
      after: ['each'],
      when: 'params.mode == "fast"',
      input: { n: 'steps.each.results' },
    },
    { id: 'slow', type: 'cpu', after: ['each'], when: 'params.mode != "fast"' },
    {
      id: 'tail',
      type: 'cpu',
      after: ['fast'],
      repeatWhile: 'steps.tail.result < 3',
      maxIterations: 10,
      input: { i: 'iteration' },
    },
  ],
};

/** Runs a plan to completion, "executing" each task with `exec`. */
function runToEnd(
  run: string,
  params: Record<string, never> | Record<string, unknown>,
  exec: (step: string, input: unknown) => unknown,
) {
  const t = parseTemplate(template);
  const done = new Map<string, PlannedTaskState>();
  for (let round = 0; round < 50; round++) {
    const plan = planWorkflow(run, t, params as never, (id) => done.get(id));
    if (plan.status !== 'running') return { plan, done };
    for (const task of plan.tasks) {
      if (!done.has(task.id))
        done.set(task.id, { status: 'succeeded', result: exec(task.ref.step, task.submit.input) as never });
    }
  }
  throw new Error('did not finish');
}

describe('workflow templates', () => {
  it('expand linear, for-each, conditional and loop steps, passing results through expressions', () => {
    const seen: [string, unknown][] = [];
    const { plan } = runToEnd('r1', { items: 2, mode: 'fast' }, (step, input) => {
      seen.push([step, input]);
      if (step === 'fetch') return { items: [1, 2, 3] };
      if (step === 'each') return (input as { x: number }).x + 1;
      if (step === 'tail') return (input as { i: number }).i + 1;
      return 'ok';
    });
    expect(plan.status).toBe('succeeded');
    expect(plan.steps).toEqual({
      fetch: 'succeeded',
      each: 'succeeded',
      fast: 'succeeded',
      slow: 'skipped',
      tail: 'succeeded',
    });
    expect(seen).toContainEqual(['fetch', { url: 'fast' }]);
    expect(seen.filter(([s]) => s === 'each').map(([, i]) => i)).toEqual([
      { x: 10, i: 0 },
      { x: 20, i: 1 },
      { x: 30, i: 2 },
    ]);
    expect(seen).toContainEqual(['fast', { n: [11, 21, 31] }]);
    expect(seen.filter(([s]) => s === 'tail')).toHaveLength(3);
  });

  it('fails the run when a task fails, and stops creating tasks after it', () => {
    const t = parseTemplate(template);
    const fetchId = workflowTaskId('r2', 'fetch', '0');
    const plan = planWorkflow('r2', t, { items: 1, mode: 'x' }, (id) =>
      id === fetchId ? { status: 'failed', result: null } : undefined,
    );
    expect(plan.status).toBe('failed');
    expect(plan.tasks.map((x) => x.id)).toEqual([fetchId]);
  });

  it('task ids are a hash of run, step and iteration: concurrent planners agree', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.nat(100), (run, step, i) => {
        expect(workflowTaskId(run, step, String(i))).toBe(workflowTaskId(run, step, String(i)));
        expect(workflowTaskId(run, step, String(i))).not.toBe(workflowTaskId(run, step, String(i + 1)));
      }),
    );
    const a = planWorkflow('r3', parseTemplate(template), { items: 1, mode: 'fast' }, () => undefined);
    const b = planWorkflow('r3', parseTemplate(template), { items: 1, mode: 'fast' }, () => undefined);
    expect(a).toEqual(b);
  });

  it('rejects bad templates with errors naming the field', () => {
    const bad = (t: unknown, field: RegExp) => {
      try {
        parseTemplate(t as WorkflowTemplate);
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(CoordinatorError);
        expect((e as CoordinatorError).message).toMatch(field);
      }
    };
    bad({ name: 'x', steps: [] }, /template.steps/);
    bad(
      {
        name: 'x',
        steps: [
          { id: 'a', type: 't' },
          { id: 'a', type: 't' },
        ],
      },
      /duplicate step id/,
    );
    bad(
      {
        name: 'x',
        steps: [
          { id: 'a', type: 't', after: ['b'] },
          { id: 'b', type: 't' },
        ],
      },
      /not an earlier step/,
    );
    bad({ name: 'x', steps: [{ id: 'a', type: 't', when: '1 +' }] }, /steps\[0\]\.when/);
    bad(
      { name: 'x', steps: [{ id: 'a', type: 't', forEach: 'x', repeatWhile: 'y' }] },
      /either for-each or a loop/,
    );
    bad({ name: 'bad name!', steps: [{ id: 'a', type: 't' }] }, /template.name/);
  });
});

describe('expressions', () => {
  it('read only the data they are given: no prototype, constructor or globals', () => {
    for (const src of [
      'constructor',
      'toString.constructor',
      '__proto__',
      'process',
      'globalThis',
      'a.__proto__.polluted',
    ]) {
      expect(compile(src, 'f')({ a: { b: 1 } })).toBeNull();
    }
    expect(compile('a.b + 1', 'f')({ a: { b: 1 } })).toBe(2);
    expect(() => compile('a +', 'f')).toThrow(CoordinatorError);
  });
});
