import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deriveTask, type AttemptEnd, type TaskRecords } from '../src/index.ts';
import { claim, records, spec } from './fixtures.ts';

const none = (): undefined => undefined;

function end(overrides: Partial<AttemptEnd> = {}): AttemptEnd {
  return {
    task: 't1',
    epoch: 1,
    agent: 'a1',
    node: 'n1',
    startedAt: 200,
    endedAt: 300,
    outcome: 'succeeded',
    result: { ok: true },
    error: null,
    retryable: true,
    ...overrides,
  };
}

const start = (epoch: number, agent = 'a1') => ({ task: 't1', epoch, agent, node: 'n1', startedAt: 200 });

describe('deriveTask', () => {
  it('walks pending → claimed → running → succeeded as records arrive', () => {
    expect(deriveTask(records(), none).status).toBe('pending');
    const claimed = records({ claims: [claim()] });
    expect(deriveTask(claimed, none)).toMatchObject({ status: 'claimed', epoch: 1, decidesAt: 162.5 });
    const running = { ...claimed, starts: [start(1)] };
    expect(deriveTask(running, none).status).toBe('running');
    const done = deriveTask({ ...running, ends: [end()] }, none);
    expect(done).toMatchObject({ status: 'succeeded', accepted: { result: { ok: true } } });
  });

  it('a start carries the first lease; a later renewal replaces it', () => {
    const running = records({ claims: [claim()], starts: [{ ...start(1), until: 3200 }] });
    expect(deriveTask(running, none).lease).toMatchObject({ agent: 'a1', node: 'n1', until: 3200 });
    const renewed = { ...running, leases: [{ task: 't1', epoch: 1, agent: 'a1', node: 'n1', until: 4200 }] };
    expect(deriveTask(renewed, none).lease?.until).toBe(4200);
    expect(deriveTask({ ...running, starts: [start(1)] }, none).lease).toBeNull();
  });

  it('a failed attempt waits for the backoff, then the next epoch; the last allowed failure is final', () => {
    const r = records({
      spec: spec({
        retry: { maxAttempts: 2, backoff: { initialMs: 100, factor: 2, maxMs: 1000, jitter: 0 } },
      }),
    });
    const first = {
      ...r,
      claims: [claim()],
      starts: [start(1)],
      ends: [end({ outcome: 'failed', error: 'boom', result: null })],
    };
    expect(deriveTask(first, none)).toMatchObject({ status: 'pending', attemptsUsed: 1, nextAttemptAt: 400 });
    const second = {
      ...first,
      claims: [...first.claims, claim({ epoch: 2 })],
      starts: [...first.starts, start(2)],
      ends: [...first.ends, end({ epoch: 2, outcome: 'failed', error: 'boom again', result: null })],
    };
    expect(deriveTask(second, none)).toMatchObject({
      status: 'failed',
      attemptsUsed: 2,
      reason: 'boom again',
    });
  });

  it('a lost holder (expired epoch) is replaced at once', () => {
    const r = records({
      claims: [claim()],
      starts: [start(1)],
      expiries: [{ task: 't1', epoch: 1, at: 900, by: 'n2' }],
    });
    expect(deriveTask(r, none)).toMatchObject({ status: 'pending', nextAttemptAt: 0, attemptsUsed: 1 });
  });

  it('counts an epoch as an attempt only once it started: claims that lapsed unstarted use none', () => {
    const lapsed = (epochs: number[]) =>
      records({
        claims: epochs.map((epoch) => claim({ epoch })),
        expiries: epochs.map((epoch) => ({ task: 't1', epoch, at: 900 * epoch, by: 'n2' })),
      });
    const unstarted = lapsed([1, 2, 3, 4, 5]);
    expect(deriveTask(unstarted, none)).toMatchObject({
      status: 'pending',
      attemptsUsed: 0,
      nextAttemptAt: 0,
    });
    // A holder that started and then died uses its attempt, so a task that kills its node fails.
    const crashed = { ...unstarted, starts: [start(2), start(4), start(5)] };
    expect(deriveTask(crashed, none)).toMatchObject({
      status: 'failed',
      attemptsUsed: 3,
      reason: 'lost after 3 attempts',
    });
    // A start learnt late counts once it arrives; an open epoch's start counts when it closes.
    const open = {
      ...lapsed([1, 2]),
      claims: [claim({ epoch: 1 }), claim({ epoch: 2 }), claim({ epoch: 3 })],
    };
    expect(deriveTask({ ...open, starts: [start(3)] }, none)).toMatchObject({
      status: 'running',
      attemptsUsed: 0,
    });
    expect(deriveTask({ ...open, starts: [start(1), start(3)] }, none).attemptsUsed).toBe(1);
  });
  it('success beats cancel and failure; cancel beats pending work; failed dependencies fail dependents', () => {
    const cancel = { task: 't1', at: 5, by: 'n0', reason: 'user' };
    expect(deriveTask(records({ cancel, ends: [end()] }), none).status).toBe('succeeded');
    expect(deriveTask(records({ cancel, claims: [claim()] }), none).status).toBe('cancelled');
    const dependent = records({ spec: spec({ dependsOn: ['t0'] }) });
    expect(deriveTask(dependent, () => 'failed')).toMatchObject({
      status: 'failed',
      reason: 'dependency t0 failed',
    });
    expect(deriveTask(dependent, () => 'running').status).toBe('pending');
  });

  it('a permanent failure ends the task; a schedule-to-start timeout fails a task that never started', () => {
    expect(
      deriveTask(
        records({
          claims: [claim()],
          ends: [end({ outcome: 'failed', retryable: false, error: 'bad input' })],
        }),
        none,
      ).status,
    ).toBe('failed');
    expect(deriveTask(records({ startTimeout: { task: 't1', at: 9, by: 'n1' } }), none).status).toBe(
      'failed',
    );
    // An attempt that ended before its start record was written started all the same.
    const endedOnly = deriveTask(
      records({
        claims: [claim()],
        ends: [end({ outcome: 'failed', error: 'flaky' })],
        startTimeout: { task: 't1', at: 9, by: 'n1' },
      }),
      none,
    );
    expect(endedOnly).toMatchObject({ status: 'pending', started: true, start: null });
  });

  it('the accepted result is the successful attempt with the lowest epoch', () => {
    const r = records({
      claims: [claim(), claim({ epoch: 2, agent: 'b' })],
      ends: [end({ epoch: 2, agent: 'b', result: 'second' }), end({ result: 'first' })],
    });
    expect(deriveTask(r, none).accepted?.result).toBe('first');
  });

  it('is a pure function of the record sets: any arrival order gives the same derivation', () => {
    const arbRecords = fc
      .record({
        // One claim per (epoch, agent): that is the record's key.
        claims: fc.uniqueArray(
          fc.record({
            epoch: fc.integer({ min: 1, max: 3 }),
            agent: fc.constantFrom('a', 'b', 'c'),
            at: fc.nat(50),
          }),
          {
            maxLength: 6,
            selector: (c) => `${c.epoch}${c.agent}`,
          },
        ),
        ends: fc.uniqueArray(
          fc.record({
            epoch: fc.integer({ min: 1, max: 3 }),
            agent: fc.constantFrom('a', 'b', 'c'),
            outcome: fc.constantFrom('succeeded' as const, 'failed' as const, 'timed-out' as const),
          }),
          { maxLength: 3, selector: (e) => `${e.epoch}${e.agent}` },
        ),
        expiries: fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }),
        cancelled: fc.boolean(),
      })
      .map((x): TaskRecords =>
        records({
          claims: x.claims.map((c) => claim(c)),
          ends: x.ends.map((e) => end({ ...e, result: `${e.agent}${e.epoch}` })),
          expiries: x.expiries.map((epoch) => ({ task: 't1', epoch, at: 1, by: 'n' })),
          cancel: x.cancelled ? { task: 't1', at: 1, by: 'n', reason: 'x' } : null,
        }),
      );
    fc.assert(
      fc.property(arbRecords, (r) => {
        const reversed: TaskRecords = {
          ...r,
          claims: [...r.claims].reverse(),
          ends: [...r.ends].reverse(),
          expiries: [...r.expiries].reverse(),
        };
        expect(deriveTask(reversed, none)).toEqual(deriveTask(r, none));
      }),
    );
  });

  it('once succeeded in an epoch not declared lost, no later record changes the status', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 5 }), fc.boolean(), (epoch, cancelled) => {
        const r = records({
          claims: [claim(), claim({ epoch })],
          ends: [end(), end({ epoch, outcome: 'failed' })],
          cancel: cancelled ? { task: 't1', at: 1, by: 'n', reason: 'x' } : null,
          expiries: [{ task: 't1', epoch, at: 1, by: 'n' }],
        });
        expect(deriveTask(r, none).status).toBe('succeeded');
      }),
    );
  });

  it('refuses the result of an epoch declared lost once a later attempt started; takes it before', () => {
    // The holder of epoch 1 crashed after its handler ran and before its result got out; another
    // replica declared the epoch lost. The result arrives when the holder restarts.
    const lateSuccess = end({ epoch: 1, agent: 'a1', result: 'late' });
    const expiry = { task: 't1', epoch: 1, at: 1, by: 'n2' };
    const second = claim({ epoch: 2, agent: 'a2', node: 'n2' });
    const secondStart = { task: 't1', epoch: 2, agent: 'a2', node: 'n2', startedAt: 200, until: 3200 };
    // Epoch 2 has started: the late result is refused and epoch 2's attempt decides.
    const running = deriveTask(
      records({ claims: [claim(), second], starts: [secondStart], ends: [lateSuccess], expiries: [expiry] }),
      none,
    );
    expect(running).toMatchObject({ status: 'running', accepted: null, epoch: 2 });
    const rerun = deriveTask(
      records({
        claims: [claim(), second],
        starts: [secondStart],
        ends: [lateSuccess, end({ epoch: 2, agent: 'a2', result: 'fresh' })],
        expiries: [expiry],
      }),
      none,
    );
    expect(rerun).toMatchObject({ status: 'succeeded', accepted: { epoch: 2, result: 'fresh' } });
    // Nothing started after the expiry: the late result stands and nothing runs again.
    const early = deriveTask(
      records({ claims: [claim(), second], ends: [lateSuccess], expiries: [expiry] }),
      none,
    );
    expect(early).toMatchObject({ status: 'succeeded', accepted: { epoch: 1, result: 'late' } });
  });
});
