import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseSubmit, readTaskSpec, type SubmitInput } from '../src/model.ts';
import { loadRecord, storedRecord, taskRecord } from '../src/stored-records.ts';

const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/);

const submission: fc.Arbitrary<SubmitInput> = fc.record(
  {
    type: name,
    needs: fc.array(name, { maxLength: 3 }),
    input: fc.oneof(fc.constant(null), fc.integer(), fc.dictionary(name, fc.string(), { maxKeys: 3 })),
    priority: fc.integer({ min: -5, max: 5 }),
    dependsOn: fc.array(
      name.map((n) => `dep-${n}`),
      { maxLength: 3 },
    ),
    resources: fc.dictionary(name, fc.integer({ min: 1, max: 4 }), { maxKeys: 2 }),
    retry: fc.record(
      { maxAttempts: fc.integer({ min: 1, max: 9 }), backoff: fc.record({ initialMs: fc.nat(2000) }) },
      { requiredKeys: [] },
    ),
    timeouts: fc.record(
      { scheduleToStartMs: fc.integer({ min: 1, max: 9999 }), runMs: fc.integer({ min: 1, max: 9999 }) },
      { requiredKeys: [] },
    ),
    idempotencyKey: fc.string({ minLength: 1, maxLength: 12 }),
  },
  { requiredKeys: ['type'] },
);

describe('task records', () => {
  it('store a spec without its defaults and read back the same spec', () => {
    fc.assert(
      fc.property(submission, fc.boolean(), (input, inWorkflow) => {
        const spec = parseSubmit(input, {
          now: 1000,
          replica: 'node-a',
          randomId: () => 't-1',
          ...(inWorkflow && { workflow: { run: 'wf-1', step: 'fetch', iteration: '0' } }),
        });
        expect(readTaskSpec(JSON.parse(JSON.stringify(taskRecord(spec))))).toEqual(spec);
      }),
    );
  });

  it('leave a plain task with only its id, type, submitter and time', () => {
    const spec = parseSubmit({ type: 'noop' }, { now: 5, replica: 'node-a', randomId: () => 't-1' });
    expect(taskRecord(spec)).toEqual({ id: 't-1', type: 'noop', submittedAt: 5, submittedBy: 'node-a' });
  });

  it('store attempt records without what their key and writer say, and take those from key and writer', () => {
    const claim = { task: 't-1', epoch: 2, agent: 'a', node: 'node-a', at: 5, score: 1, settleMs: 20 };
    const stored = storedRecord('claim', claim);
    expect(stored).toEqual({ at: 5, score: 1, settleMs: 20 });
    expect(loadRecord('claim', 't-1|2|a', stored, 'node-a')).toEqual(claim);
    // A value naming another task, epoch or node does not win over the key and the writer.
    expect(loadRecord('claim', 't-1|2|a', { ...claim, task: 't-9', node: 'node-z' }, 'node-a')).toEqual(
      claim,
    );
    // A "__proto__" field (a decoded object can hold one) stays data and is dropped, never a prototype.
    const hostile = JSON.parse('{"at": 5, "score": 1, "settleMs": 20, "__proto__": {"extra": 1}}') as object;
    const loaded = loadRecord('claim', 't-1|2|a', hostile as never, 'node-a') as object;
    expect(Object.getPrototypeOf(loaded)).toBe(Object.prototype);
    expect(loaded).toEqual(claim);
    expect(loadRecord('claim', 't-1|x|a', stored, 'node-a')).toBeNull();
    expect(loadRecord('claim', 't-1|2', stored, 'node-a')).toBeNull();
    expect(loadRecord('claim', 't-1|2|a', stored, undefined)).toBeNull();
    // A task's id is its key; an end of a success leaves out its null result and error.
    const task = { id: 't-1', type: 'noop', submittedAt: 5, submittedBy: 'node-a' };
    expect(storedRecord('task', task)).toEqual({ type: 'noop', submittedAt: 5 });
    expect(
      loadRecord('task', 't-1', { ...(storedRecord('task', task) as object), id: 't-9' }, 'node-a'),
    ).toEqual(task);
    const end = {
      task: 't-1',
      epoch: 1,
      agent: 'a',
      node: 'node-a',
      startedAt: 5,
      endedAt: 6,
      outcome: 'succeeded',
      result: null,
      error: null,
      retryable: true,
    };
    expect(storedRecord('end', end)).toEqual({ startedAt: 5, endedAt: 6, outcome: 'succeeded' });
    expect(loadRecord('end', 't-1|1|a', storedRecord('end', end), 'node-a')).toEqual(end);
    const failed = { ...end, outcome: 'failed', error: 'boom', retryable: false };
    expect(loadRecord('end', 't-1|1|a', storedRecord('end', failed), 'node-a')).toEqual(failed);
    expect(
      loadRecord('cancel', 't-1', storedRecord('cancel', { task: 't-1', at: 1, by: 'n', reason: 'r' }), 'n'),
    ).toEqual({
      task: 't-1',
      at: 1,
      by: 'n',
      reason: 'r',
    });
  });
});
