import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CoordinatorError, parseTemplate, taskInputSchema } from '../src/index.ts';
import { parseSubmit } from '../src/model.ts';
import { readTaskRecord } from '../src/task-record.ts';
import { taskRecordSchema } from '../src/task-schema.ts';

const edge = fc.constantFrom<unknown>(
  undefined,
  null,
  0,
  -1,
  1,
  1.5,
  1000,
  1001,
  -1001,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  2 ** 53,
  '',
  'a',
  'a/b',
  '.',
  '-x',
  'x'.repeat(129),
  'x'.repeat(257),
  [],
  {},
);
/** Mostly `valid`, now and then an edge value or anything: a fair share of records break one rule only. */
const maybe = <T>(valid: fc.Arbitrary<T>): fc.Arbitrary<unknown> =>
  fc.oneof(
    { arbitrary: valid, weight: 60 },
    { arbitrary: edge, weight: 1 },
    { arbitrary: fc.anything(), weight: 1 },
  );
const name = fc.stringMatching(/^[a-z][a-z0-9:/@-]{0,8}$/);
const id = fc.stringMatching(/^[a-z0-9][a-z0-9.:-]{0,8}$/);

/** Stored task records, mostly well-formed, each field now and then anything at all. */
const wellFormed = fc.record(
  {
    id: maybe(id),
    type: maybe(name),
    submittedAt: maybe(fc.integer()),
    submittedBy: maybe(fc.string()),
    needs: maybe(fc.array(maybe(name), { maxLength: 3 })),
    input: fc.anything(),
    priority: maybe(fc.integer({ min: -1000, max: 1000 })),
    dependsOn: maybe(fc.array(maybe(id), { maxLength: 3 })),
    resources: maybe(
      fc.dictionary(
        fc.oneof({ arbitrary: name, weight: 60 }, { arbitrary: fc.string(), weight: 1 }),
        maybe(fc.integer({ min: 1, max: 9 })),
      ),
    ),
    retry: maybe(
      fc.record(
        {
          maxAttempts: maybe(fc.integer({ min: 1, max: 1000 })),
          backoff: maybe(
            fc.record(
              {
                initialMs: maybe(fc.nat(86_400_000)),
                factor: maybe(fc.double({ min: 1, max: 100, noNaN: true })),
                maxMs: maybe(fc.nat(86_400_000)),
                jitter: maybe(fc.double({ min: 0, max: 1, noNaN: true })),
              },
              { requiredKeys: [] },
            ),
          ),
        },
        { requiredKeys: [] },
      ),
    ),
    timeouts: maybe(
      fc.record(
        { scheduleToStartMs: maybe(fc.integer({ min: 1 })), runMs: maybe(fc.integer({ min: 1 })) },
        { requiredKeys: [] },
      ),
    ),
    idempotencyKey: maybe(fc.string({ minLength: 1, maxLength: 300 })),
    workflow: maybe(fc.record({ run: maybe(fc.string()), step: fc.string(), iteration: fc.string() })),
    trace: fc.anything(),
    laterField: fc.anything(),
  },
  { requiredKeys: ['id', 'type', 'submittedAt', 'submittedBy'] },
);
/** Now and then a field the schema's strict parts do not know, at any depth. */
const record = fc.tuple(wellFormed, fc.integer({ min: 0, max: 60 })).map(([r, n]): unknown => {
  if (n === 0 && typeof r.retry === 'object' && r.retry !== null)
    return { ...r, retry: { ...r.retry, extra: 1 } };
  if (n === 1 && typeof r.timeouts === 'object' && r.timeouts !== null)
    return { ...r, timeouts: { ...r.timeouts, other: null } };
  return r;
});

describe('the task schema', () => {
  it('and the structural read both refuse a resource pool named __proto__ (a key that would set a prototype)', () => {
    const r: unknown = JSON.parse(
      '{"id":"a","type":"a","submittedAt":0,"submittedBy":"","resources":{"__proto__":1}}',
    );
    expect(taskRecordSchema.safeParse(r).success).toBe(false);
    expect(readTaskRecord(r)).toBeNull();
  });

  it('and the structural read of stored records agree on every record: refused by both, or read the same', () => {
    let accepted = 0;
    fc.assert(
      fc.property(record, (r) => {
        const parsed = taskRecordSchema.safeParse(r);
        const read = readTaskRecord(r);
        if (!parsed.success) expect(read).toBeNull();
        else expect(read).toEqual(parsed.data);
        accepted += parsed.success ? 1 : 0;
      }),
      { numRuns: 5000 },
    );
    // Both verdicts are exercised, each often.
    expect(accepted).toBeGreaterThan(500);
    expect(accepted).toBeLessThan(4500);
  });

  it('refuses a bad submission with a typed error naming the field', () => {
    const fieldOf = (input: unknown): string | undefined => {
      try {
        parseSubmit(input as never, { now: 0, replica: 'r', randomId: () => 't-1' });
      } catch (e) {
        expect(e).toBeInstanceOf(CoordinatorError);
        expect((e as CoordinatorError).code).toBe('invalid_input');
        return (e as CoordinatorError).field;
      }
      return undefined;
    };
    expect(fieldOf({ type: 'x', id: 'a/b' })).toBe('id');
    expect(fieldOf({ type: 'x', id: '..' })).toBe('id');
    expect(fieldOf({ type: 'x', id: '-rf' })).toBe('id');
    expect(fieldOf({ type: 'x', dependsOn: ['ok', 'a b'] })).toBe('dependsOn.1');
    expect(fieldOf({ type: 'x', needs: ['ok', ''] })).toBe('needs.1');
    expect(fieldOf({ type: 'x', retry: { backoff: { factor: 0.5 } } })).toBe('retry.backoff.factor');
    expect(fieldOf({ type: 'x', retry: { backoffMs: 5 } })).toBe('retry.backoffMs');
    expect(fieldOf({ type: 'x', timeouts: { runMs: 1.5 } })).toBe('timeouts.runMs');
    expect(fieldOf({ type: 'x', runTimeoutMs: 5 })).toBe('runTimeoutMs');
    expect(fieldOf({ type: 'x', priority: 1001 })).toBe('priority');
    expect(fieldOf({ type: 'x', idempotencyKey: '' })).toBe('idempotencyKey');
    expect(fieldOf({ type: 'x', resources: { 'a b': 1 } })).toBe('resources.a b');
    expect(fieldOf({ type: 'x', id: 'a', dependsOn: ['a'] })).toBe('dependsOn');
    expect(fieldOf({ id: 'a' })).toBe('type');
    expect(fieldOf('x')).toBe('task');
  });

  it('holds workflow steps to the same rules for the fields they set of their tasks', () => {
    const fieldOf = (step: Record<string, unknown>): string | undefined => {
      try {
        parseTemplate({ name: 'w', steps: [{ id: 's', type: 't', ...step }] });
      } catch (e) {
        expect(e).toBeInstanceOf(CoordinatorError);
        return (e as CoordinatorError).field;
      }
      return undefined;
    };
    expect(fieldOf({ retry: { backoffMs: 5 } })).toBe('template.steps[0].retry.backoffMs');
    expect(fieldOf({ timeouts: { runMs: 0 } })).toBe('template.steps[0].timeouts.runMs');
    expect(fieldOf({ priority: 2000 })).toBe('template.steps[0].priority');
    expect(fieldOf({ resources: { gpu: 1.5 } })).toBe('template.steps[0].resources.gpu');
    expect(fieldOf({ retry: { maxAttempts: 2 }, timeouts: { runMs: 100 }, priority: 3 })).toBeUndefined();
  });

  it('takes every id the mesh generates and ids with . _ : - after the first character', () => {
    for (const ok of ['t-0f3a', 'wf-run-1a2b', 'job_1.part:2', '9'])
      expect(taskInputSchema.safeParse({ type: 'x', id: ok }).success).toBe(true);
  });
});
