import { createDocument, type Value } from '@meshwork/core';
import { describe, expect, it } from 'vitest';
import {
  CoordinatorError,
  dataLimits,
  MAX_RUN_TASKS,
  parseTemplate,
  type Coordinator,
} from '../src/index.ts';
import { planWorkflow } from '../src/internal.ts';
import { virtualMesh } from './fixtures.ts';

/** A list nested `depth` levels deep, built without recursion. */
function nested(depth: number): Value {
  let v: Value = 'leaf';
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

const budget = dataLimits.maxValueDepth;

describe('limits at the coordinator entry points', () => {
  it('accepts data at the value depth limit, and a peer and a restart read it back', async () => {
    const { coords, net, run } = virtualMesh({ nodes: 2, backend: 'document', seed: 3 });
    const [a, b] = coords as [Coordinator, Coordinator];
    const id = a.submit({ type: 'nobody', input: nested(budget) });
    await run(2000);
    expect(b.get(id)?.spec.input).toEqual(nested(budget));
    // The submitting node's own state, as a restart reads it, decodes into a fresh Document.
    const doc = net.node('n0').state.document!;
    const restored = createDocument({ replica: doc.replica, name: doc.name });
    for (const chunk of doc.snapshot()) restored.apply(chunk);
    expect(restored.digest().equals(doc.digest())).toBe(true);
  });

  it('refuses data past the limits at submit, with a typed error naming the field, and writes nothing', async () => {
    const { coords, run } = virtualMesh({ nodes: 2, backend: 'document', seed: 3 });
    const [a, b] = coords as [Coordinator, Coordinator];
    for (const depth of [budget + 1, 1_000, 100_000]) {
      let error: unknown;
      try {
        a.submit({ id: `deep-${depth}`, type: 'nobody', input: nested(depth) });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(CoordinatorError);
      expect(error).toMatchObject({ code: 'invalid_input', field: 'input' });
      expect((error as Error).message).toMatch(/maxValueDepth/);
    }
    expect(() =>
      a.workflows.start({ name: 'w', steps: [{ id: 's', type: 'x' }] }, { deep: nested(1_000) }),
    ).toThrow(/params.*maxValueDepth/);
    await run(1000);
    expect(a.list()).toEqual([]);
    expect(b.list()).toEqual([]);
  });

  it('fails an attempt for good when the handler returns a result past the limits', async () => {
    const { coords, run } = virtualMesh({ nodes: 1, backend: 'document', seed: 3 });
    const [c] = coords as [Coordinator];
    let calls = 0;
    c.registerAgent({
      id: 'a',
      capabilities: ['deep'],
      handler: () => {
        calls++;
        return nested(10_000);
      },
    });
    const id = c.submit({ type: 'deep', retry: { maxAttempts: 5 } });
    await run(3000);
    expect(calls).toBe(1);
    expect(c.get(id)).toMatchObject({ status: 'failed' });
    expect(c.get(id)!.error).toMatch(/result.*maxValueDepth/);
  });

  it('fails a forEach step that would take a run past MAX_RUN_TASKS, creating none of its tasks', () => {
    const template = parseTemplate({
      name: 'fan-out',
      params: ['items'],
      steps: [
        { id: 'first', type: 'x' },
        { id: 'many', type: 'x', forEach: 'params.items' },
      ],
    });
    const items = Array.from({ length: MAX_RUN_TASKS }, (_, i) => i);
    const firstDone = (id: string) =>
      id === first ? { status: 'succeeded' as const, result: null } : undefined;
    const first = planWorkflow('r', template, { items }, () => undefined).tasks[0]!.id;
    const plan = planWorkflow('r', template, { items }, firstDone);
    expect(plan.status).toBe('failed');
    expect(plan.reason).toMatch(/MAX_RUN_TASKS/);
    expect(plan.tasks).toHaveLength(1);
    const fits = planWorkflow('r', template, { items: items.slice(1) }, firstDone);
    expect(fits.status).toBe('running');
    expect(fits.tasks).toHaveLength(MAX_RUN_TASKS);
  });
});
