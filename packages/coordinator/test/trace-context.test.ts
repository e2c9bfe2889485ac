import type { Value } from '@meshwork/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createDocumentStore, type Coordinator } from '../src/index.ts';
import { readTaskSpec } from '../src/model.ts';
import { readTraceContext } from '../src/trace-context.ts';
import { virtualMesh } from './fixtures.ts';

const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

/** Trace contexts a faulty or hostile peer could write into a task record. */
const malformed: Value[] = [
  'not an object',
  42,
  null,
  [traceparent],
  {},
  { traceparent: 7 },
  { traceparent: '' },
  { traceparent: traceparent.toUpperCase() },
  // Version ff is invalid; other versions are not ones this code writes.
  { traceparent: `ff${traceparent.slice(2)}` },
  { traceparent: `01${traceparent.slice(2)}` },
  { traceparent: `${traceparent}-extra` },
  { traceparent: '00-00000000000000000000000000000000-00f067aa0ba902b7-01' },
  { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01' },
  { traceparent: 'x'.repeat(100_000) },
  { traceparent: { nested: { deeper: [traceparent] } } },
];

describe('trace context in task records', () => {
  it('runs a task whose record carries a malformed trace context from a peer, ignoring the context', async () => {
    const { coords, net, run } = virtualMesh({ nodes: 2, backend: 'document', seed: 5 });
    const [, b] = coords as [Coordinator, Coordinator];
    b.registerAgent({ id: 'worker', capabilities: ['work'], handler: () => 'done' });
    // Written straight into n0's Document, past the coordinator's own checks, as another implementation could.
    const peer = createDocumentStore(net.node('n0').state.document!);
    const ids = malformed.map((_, i) => `bad-${i}`);
    peer.write(
      malformed.map((trace, i) => ({
        kind: 'task',
        key: ids[i]!,
        value: { id: ids[i]!, type: 'work', submittedAt: 1, trace },
      })),
    );
    peer.write([
      {
        kind: 'task',
        key: 'good',
        value: { id: 'good', type: 'work', submittedAt: 1, trace: { traceparent, tracestate: 'k=v' } },
      },
      // A tracestate past the W3C limit is dropped; the traceparent stays.
      {
        kind: 'task',
        key: 'long-state',
        value: {
          id: 'long-state',
          type: 'work',
          submittedAt: 1,
          trace: { traceparent, tracestate: 'k='.padEnd(600, 'v') },
        },
      },
    ]);
    await run(5000);
    for (const id of ids) {
      expect(b.get(id)?.status, id).toBe('succeeded');
      expect(b.get(id)?.spec.trace, id).toBeUndefined();
    }
    expect(b.get('good')?.status).toBe('succeeded');
    expect(b.get('good')?.spec.trace).toEqual({ traceparent, tracestate: 'k=v' });
    expect(b.get('long-state')?.spec.trace).toEqual({ traceparent });
  });

  it('stores no trace context for a task submitted with tracing off: the record is what it was without tracing', async () => {
    const { coords, net, run } = virtualMesh({ nodes: 2, backend: 'document', seed: 5 });
    const [a, b] = coords as [Coordinator, Coordinator];
    const id = a.submit({ id: 'plain', type: 'work', input: { n: 1 } });
    await run(1000);
    expect(a.get(id)?.spec.trace).toBeUndefined();
    expect(b.get(id)?.spec.trace).toBeUndefined();
    const stored = createDocumentStore(net.node('n1').state.document!).read('task', id);
    // The stored form of a plain task: its fields at non-default values and nothing else.
    expect(stored?.value).toEqual({
      type: 'work',
      submittedAt: expect.any(Number) as unknown,
      input: { n: 1 },
    });
  });

  it('reads any value a peer puts in `trace` without throwing, keeping the task, and only a well-formed context', () => {
    const wellFormed = fc.record(
      {
        traceparent: fc
          .tuple(
            fc.stringMatching(/^[0-9a-f]{32}$/),
            fc.stringMatching(/^[0-9a-f]{16}$/),
            fc.stringMatching(/^[0-9a-f]{2}$/),
          )
          .map(([t, s, f]) => `00-${t}-${s}-${f}`),
        tracestate: fc.string({ maxLength: 600 }),
      },
      { requiredKeys: ['traceparent'] },
    );
    fc.assert(
      fc.property(fc.oneof(fc.anything(), wellFormed), (trace) => {
        const spec = readTaskSpec({ id: 't', type: 'work', submittedAt: 1, submittedBy: 'n0', trace });
        expect(spec?.id).toBe('t');
        const read = spec!.trace;
        if (read === undefined) return;
        expect(read).toEqual(readTraceContext(read));
        expect(read.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/);
        expect(read.traceparent).not.toMatch(/^00-0{32}-|-0{16}-/);
        expect(read.tracestate?.length ?? 0).toBeLessThanOrEqual(512);
      }),
      { numRuns: 2000 },
    );
  });
});
