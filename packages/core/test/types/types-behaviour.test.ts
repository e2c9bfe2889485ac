import * as Y from 'yjs';
import { describe, expect, it } from 'vitest';
import {
  boundedCounter,
  createHandle,
  DecodeError,
  graph,
  GraphError,
  HLC,
  InsufficientRights,
  InvalidArgumentError,
  lww,
  mergeRollups,
  mvregister,
  ormap,
  orset,
  sameSpec,
  timeSeries,
  TypeSpecError,
  typeFromSpec,
  ydoc,
  type TypeSpec,
} from '../../src/index.ts';
import { lwwType, Reader, readSpec, Writer, writeSpec, type LWWState } from '../../src/internal.ts';
import { encode } from './harness.ts';

function member<S extends TypeSpec>(spec: S, id = 'a', clock?: () => number) {
  const type = typeFromSpec(spec);
  const state = type.empty();
  const deltas: unknown[] = [];
  const hlc = new HLC(id, clock ? { clock } : {});
  const emit = (d: unknown): void => {
    deltas.push(d);
    type.join(state, d);
  };
  const handle = createHandle(spec, state, { replica: id, hlc, emit });
  return { type, state, handle, deltas };
}

describe('BoundedCounter', () => {
  it('spends only local rights and moves rights by transfer', () => {
    const a = member(boundedCounter(), 'a');
    const b = member(boundedCounter(), 'b');
    a.handle.increment(5);
    expect(() => a.handle.decrement(6)).toThrow(InsufficientRights);
    a.handle.transfer('b', 3);
    expect(a.handle.rights()).toBe(2);
    for (const d of a.deltas) b.type.join(b.state, d);
    expect(b.handle.rights()).toBe(3);
    b.handle.decrement(3);
    expect(() => b.handle.decrement(1)).toThrow(InsufficientRights);
    expect(b.handle.value).toBe(2);
    expect(() => a.handle.transfer('a', 1)).toThrow(InvalidArgumentError);
    expect(() => a.handle.increment(-1)).toThrow(InvalidArgumentError);
  });
});

describe('Graph', () => {
  it('hides edges with a missing endpoint and shows them again when it returns', () => {
    const g = member(graph()).handle;
    g.addVertex('a', { role: 'planner' });
    g.addVertex('b');
    g.addEdge('a', 'b', 'calls', { weight: 2 });
    expect(g.edges()).toEqual([{ from: 'a', to: 'b', label: 'calls', attrs: { weight: 2 } }]);
    g.removeVertex('b');
    expect(g.edges()).toEqual([]);
    expect(g.hasEdge('a', 'b', 'calls')).toBe(false);
    g.addVertex('b');
    expect(g.hasEdge('a', 'b', 'calls')).toBe(true);
    g.setEdgeAttr({ from: 'a', to: 'b', label: 'calls' }, 'weight', 3);
    expect(g.edges()[0]?.attrs).toEqual({ weight: 3 });
    expect(() => g.addEdge('a', 'zz')).toThrow(GraphError);
    expect(() => g.setVertexAttr('zz', 'x', 1)).toThrow(GraphError);
  });

  it('an edge added concurrently with removing its endpoint stays hidden until the endpoint is re-added', () => {
    const a = member(graph(), 'a');
    const b = member(graph(), 'b');
    a.handle.addVertex('x');
    a.handle.addVertex('y');
    for (const d of a.deltas) b.type.join(b.state, d);
    a.deltas.length = 0;
    a.handle.addEdge('x', 'y');
    b.handle.removeVertex('y');
    for (const d of a.deltas) b.type.join(b.state, d);
    for (const d of b.deltas) a.type.join(a.state, d);
    expect(a.handle.edges()).toEqual([]);
    expect(b.handle.edges()).toEqual([]);
    b.handle.addVertex('y');
    expect(b.handle.edges().length).toBe(1);
  });
});

describe('TimeSeries', () => {
  it('answers ranges and rollups, and drops points below the retention mark', () => {
    const ts = member(timeSeries()).handle;
    for (const [at, v] of [
      [100, 1],
      [105, 5],
      [110, 2],
      [125, -1],
    ] as const) {
      ts.append('cpu', v, at);
    }
    expect(ts.range('cpu', 100, 111).map((p) => p.value)).toEqual([1, 5, 2]);
    expect(ts.rollup('cpu', 10, 0, 1000)).toEqual([
      { start: 100, count: 2, sum: 6, min: 1, max: 5 },
      { start: 110, count: 1, sum: 2, min: 2, max: 2 },
      { start: 120, count: 1, sum: -1, min: -1, max: -1 },
    ]);
    expect(mergeRollups(ts.rollup('cpu', 10, 0, 105), ts.rollup('cpu', 10, 105, 1000))).toEqual(
      ts.rollup('cpu', 10, 0, 1000),
    );
    ts.retain(110);
    expect(ts.range('cpu', 0, 1000).map((p) => p.value)).toEqual([2, -1]);
    ts.append('cpu', 9, 50);
    expect(ts.range('cpu', 0, 1000).length).toBe(2);
    expect(() => ts.append('cpu', Number.NaN)).toThrow(InvalidArgumentError);
    expect(() => ts.rollup('cpu', 0, 0, 1)).toThrow(InvalidArgumentError);
  });
});

describe('LWWRegister', () => {
  it('keeps O(1) state when 1000 writers merge, and picks the latest timestamp', () => {
    const merged = lwwType.empty();
    const time = 0;
    for (let i = 0; i < 1000; i++) {
      const w = member(lww<number>(), `w${String(i).padStart(4, '0')}`, () => time);
      w.handle.set(i);
      lwwType.join(merged, w.state as LWWState);
    }
    expect(merged.value).toBe(999); // same wall and logical: the largest replica id wins
    const w = new Writer();
    lwwType.encode(w, merged);
    expect(w.finish().length).toBeLessThan(20);
  });

  it('a write beats the value it replaced even when the local clock is behind', () => {
    const a = member(lww<string>(), 'a', () => 10_000);
    const b = member(lww<string>(), 'b', () => 0);
    a.handle.set('from a');
    b.type.join(b.state, a.deltas[0]);
    b.handle.set('from b');
    a.type.join(a.state, b.deltas[0]);
    expect(a.handle.get()).toBe('from b');
  });
});

describe('MVRegister', () => {
  it('keeps concurrent writes with their writers until a write that saw them', () => {
    const a = member(mvregister<string>(), 'a');
    const b = member(mvregister<string>(), 'b');
    a.handle.set('from a');
    b.handle.set('from b');
    for (const d of b.deltas) a.type.join(a.state, d);
    expect(a.handle.writes()).toEqual([
      { value: 'from a', replica: 'a' },
      { value: 'from b', replica: 'b' },
    ]);
    expect(a.handle.values()).toEqual(['from a', 'from b']);
    a.handle.set('merged');
    expect(a.handle.writes()).toEqual([{ value: 'merged', replica: 'a' }]);
  });
});

describe('YDoc', () => {
  it('turns local Yjs transactions into deltas that other members apply', () => {
    const a = member(ydoc(), 'a');
    const b = member(ydoc(), 'b');
    a.handle.doc.getText('notes').insert(0, 'hello');
    a.handle.doc.transact(() => {
      a.handle.doc.getMap('m').set('k', 1);
      a.handle.doc.getMap('m').set('j', 2);
    });
    expect(a.deltas.length).toBe(2);
    // Delivered in reverse: Yjs holds the second until the first arrives.
    for (const d of [...a.deltas].reverse()) b.type.join(b.state, d);
    expect(b.handle.doc.getText('notes').toJSON()).toBe('hello');
    expect(b.handle.doc.getMap('m').toJSON()).toEqual({ k: 1, j: 2 });
    expect(b.deltas.length).toBe(0); // merges are not re-emitted
    const again = new Y.Doc();
    Y.applyUpdate(again, encode(b.type, b.state).subarray(1));
    expect(again.getText('notes').toJSON()).toBe('hello');
  });
});

describe('type specs', () => {
  it('round-trip through the codec and compare structurally', () => {
    const spec = ormap(ormap(lww()));
    const w = new Writer();
    writeSpec(w, spec);
    const read = readSpec(new Reader(w.finish()));
    expect(sameSpec(read, spec)).toBe(true);
    expect(sameSpec(read, ormap(orset()))).toBe(false);
  });

  it('refuse values that cannot nest, and bound their depth', () => {
    expect(() => ormap(graph())).toThrow(TypeSpecError);
    const deep = new Writer();
    for (let i = 0; i < 100; i++) deep.uint(6);
    deep.uint(0);
    expect(() => readSpec(new Reader(deep.finish()))).toThrow(DecodeError);
    const bad = new Writer();
    bad.uint(6);
    bad.uint(7);
    expect(() => readSpec(new Reader(bad.finish()))).toThrow(DecodeError);
  });

  it('refuse non-values', () => {
    const s = member(orset()).handle;
    expect(() => s.add(undefined as never)).toThrow(InvalidArgumentError);
    expect(() => s.add(new Date() as never)).toThrow(InvalidArgumentError);
  });
});
