import fc from 'fast-check';
import * as Y from 'yjs';
import {
  boundedCounter,
  gcounter,
  graph,
  GraphError,
  InsufficientRights,
  InvalidArgumentError,
  lww,
  mvregister,
  ormap,
  orset,
  pncounter,
  timeSeries,
  ydoc,
  type BoundedCounter,
  type GCounter,
  type Graph,
  type LWWRegister,
  type MVRegister,
  type ORMap,
  type ORSet,
  type PNCounter,
  type TimeSeries,
  type Value,
  type YDoc,
} from '../../src/index.ts';
import { YDocState } from '../../src/internal.ts';
import { elementKey } from '../../src/types/element-key.ts';
import type { Model } from './harness.ts';

const elements: fc.Arbitrary<Value> = fc.constantFrom<Value>(
  'a',
  'b',
  'c',
  '',
  '\u0001x',
  0,
  1,
  -0.5,
  true,
  null,
  { x: [1, 'y'] },
  [1, 2],
  new Uint8Array([1, 2]),
);

type SetOp = { readonly add: boolean; readonly v: Value };
const setOp: fc.Arbitrary<SetOp> = fc.record({ add: fc.boolean(), v: elements });

function sortedKeys(values: Iterable<Value>): string[] {
  return [...values].map(elementKey).sort();
}

export const orsetModel: Model<ORSet, SetOp, Set<string>> = {
  spec: orset(),
  op: setOp,
  run: (h, op) => (op.add ? h.add(op.v) : h.remove(op.v)),
  view: (h) => ({ values: sortedKeys(h.values()), size: h.size, has: h.has('a') }),
  seq: {
    init: () => new Set(),
    step: (m, op) => void (op.add ? m.add(elementKey(op.v)) : m.delete(elementKey(op.v))),
    view: (m) => ({ values: [...m].sort(), size: m.size, has: m.has('a') }),
  },
};

const small = fc.integer({ min: 0, max: 9 });

export const lwwModel: Model<LWWRegister<number>, number, { v: number | undefined }> = {
  spec: lww<number>(),
  op: small,
  run: (h, v) => h.set(v),
  view: (h) => h.get() ?? null,
  seq: { init: () => ({ v: undefined }), step: (m, v) => void (m.v = v), view: (m) => m.v ?? null },
};

export const mvregisterModel: Model<MVRegister<number>, number, number[]> = {
  spec: mvregister<number>(),
  op: small,
  run: (h, v) => h.set(v),
  view: (h) => h.values(),
  seq: { init: () => [], step: (m, v) => void m.splice(0, m.length, v), view: (m) => m },
};

export const gcounterModel: Model<GCounter, number, { n: number }> = {
  spec: gcounter(),
  op: small,
  run: (h, n) => h.increment(n),
  view: (h) => h.value,
  seq: { init: () => ({ n: 0 }), step: (m, n) => void (m.n += n), view: (m) => m.n },
};

type PNOp = { readonly inc: boolean; readonly n: number };
const pnOp: fc.Arbitrary<PNOp> = fc.record({ inc: fc.boolean(), n: small });

export const pncounterModel: Model<PNCounter, PNOp, { n: number }> = {
  spec: pncounter(),
  op: pnOp,
  run: (h, op) => (op.inc ? h.increment(op.n) : h.decrement(op.n)),
  view: (h) => h.value,
  seq: { init: () => ({ n: 0 }), step: (m, op) => void (m.n += op.inc ? op.n : -op.n), view: (m) => m.n },
};

type BCOp =
  | { readonly kind: 'inc' | 'dec'; readonly n: number }
  | { readonly kind: 'transfer'; readonly n: number; readonly to: string };
const bcOp: fc.Arbitrary<BCOp> = fc.oneof(
  fc.record({ kind: fc.constantFrom('inc' as const, 'dec' as const), n: small }),
  fc.record({
    kind: fc.constant('transfer' as const),
    n: small,
    to: fc.constantFrom('r0', 'r1', 'r2', 'zz'),
  }),
);

const rightsHolders = ['r0', 'r1', 'r2', 'zz', 'solo'];
export const boundedCounterModel: Model<
  BoundedCounter,
  BCOp,
  { value: number; rights: Map<string, number> }
> = {
  spec: boundedCounter(),
  op: bcOp,
  run(h, op) {
    // A transfer to oneself is refused as bad input (an allowed error).
    if (op.kind === 'transfer') h.transfer(op.to, op.n);
    else if (op.kind === 'inc') h.increment(op.n);
    else h.decrement(op.n);
    if (h.value < 0) throw new Error('bounded counter below zero');
  },
  allowed: (e) => e instanceof InsufficientRights || e instanceof InvalidArgumentError,
  view: (h) => ({ value: h.value, rights: rightsHolders.map((r) => h.rights(r)) }),
  seq: {
    init: () => ({ value: 0, rights: new Map() }),
    step(m, op) {
      const own = m.rights.get('solo') ?? 0;
      if (op.kind === 'inc') {
        m.value += op.n;
        m.rights.set('solo', own + op.n);
        return;
      }
      if (op.n > own) throw new InsufficientRights(op.n, own);
      m.rights.set('solo', own - op.n);
      if (op.kind === 'transfer') m.rights.set(op.to, (m.rights.get(op.to) ?? 0) + op.n);
      else m.value -= op.n;
    },
    view: (m) => ({ value: m.value, rights: rightsHolders.map((r) => m.rights.get(r) ?? 0) }),
  },
};

const keys = fc.constantFrom('k1', 'k2', 'k3');

type MapSetOp =
  | { readonly kind: 'add' | 'remove'; readonly key: string; readonly v: Value }
  | { readonly kind: 'delete'; readonly key: string };
export const ormapOfSetsModel: Model<ORMap<ORSet>, MapSetOp, Map<string, Set<string>>> = {
  spec: ormap(orset()),
  op: fc.oneof(
    fc.record({ kind: fc.constantFrom('add' as const, 'remove' as const), key: keys, v: elements }),
    fc.record({ kind: fc.constant('delete' as const), key: keys }),
  ),
  run(h, op) {
    if (op.kind === 'delete') h.delete(op.key);
    else if (op.kind === 'add') h.get(op.key).add(op.v);
    else h.get(op.key).remove(op.v);
  },
  view: (h) => h.entries().map(([k, s]) => [k, h.has(k), sortedKeys(s.values())]),
  seq: {
    init: () => new Map(),
    step(m, op) {
      if (op.kind === 'delete') return void m.delete(op.key);
      const set = m.get(op.key) ?? new Set<string>();
      if (op.kind === 'add') set.add(elementKey(op.v));
      else set.delete(elementKey(op.v));
      if (set.size > 0) m.set(op.key, set);
      else m.delete(op.key);
    },
    view: (m) => [...m.keys()].sort().map((k) => [k, true, [...(m.get(k) as Set<string>)].sort()]),
  },
};

type MapLwwOp = { readonly key: string; readonly v: number | null };
export const ormapOfLwwModel: Model<ORMap<LWWRegister<number>>, MapLwwOp, Map<string, number>> = {
  spec: ormap(lww<number>()),
  op: fc.record({ key: keys, v: fc.option(small) }),
  run: (h, op) => (op.v === null ? h.delete(op.key) : h.get(op.key).set(op.v)),
  view: (h) => h.entries().map(([k, r]) => [k, r.get()]),
  seq: {
    init: () => new Map(),
    step: (m, op) => void (op.v === null ? m.delete(op.key) : m.set(op.key, op.v)),
    view: (m) => [...m.keys()].sort().map((k) => [k, m.get(k)]),
  },
};

type MapCounterOp = { readonly key: string; readonly n: number | null };
export const ormapOfCountersModel: Model<ORMap<PNCounter>, MapCounterOp, Map<string, number>> = {
  spec: ormap(pncounter()),
  op: fc.record({ key: keys, n: fc.option(fc.integer({ min: -4, max: 4 })) }),
  run(h, op) {
    if (op.n === null) h.delete(op.key);
    else if (op.n >= 0) h.get(op.key).increment(op.n);
    else h.get(op.key).decrement(-op.n);
  },
  view: (h) => h.entries().map(([k, c]) => [k, c.value]),
  seq: {
    init: () => new Map(),
    step(m, op) {
      if (op.n === null) m.delete(op.key);
      else if (op.n !== 0) m.set(op.key, (m.get(op.key) ?? 0) + op.n);
    },
    view: (m) => [...m.keys()].sort().map((k) => [k, m.get(k)]),
  },
};

type NestedOp =
  | { readonly kind: 'set'; readonly outer: string; readonly inner: string; readonly v: number }
  | { readonly kind: 'deleteOuter'; readonly outer: string }
  | { readonly kind: 'deleteInner'; readonly outer: string; readonly inner: string };
export const nestedMapModel: Model<
  ORMap<ORMap<MVRegister<number>>>,
  NestedOp,
  Map<string, Map<string, number>>
> = {
  spec: ormap(ormap(mvregister<number>())),
  op: fc.oneof(
    fc.record({ kind: fc.constant('set' as const), outer: keys, inner: keys, v: small }),
    fc.record({ kind: fc.constant('deleteOuter' as const), outer: keys }),
    fc.record({ kind: fc.constant('deleteInner' as const), outer: keys, inner: keys }),
  ),
  run(h, op) {
    if (op.kind === 'set') h.get(op.outer).get(op.inner).set(op.v);
    else if (op.kind === 'deleteOuter') h.delete(op.outer);
    else h.get(op.outer).delete(op.inner);
  },
  view: (h) => h.entries().map(([k, inner]) => [k, inner.entries().map(([k2, r]) => [k2, r.values()])]),
  seq: {
    init: () => new Map(),
    step(m, op) {
      if (op.kind === 'set') {
        const inner = m.get(op.outer) ?? new Map<string, number>();
        inner.set(op.inner, op.v);
        m.set(op.outer, inner);
      } else if (op.kind === 'deleteOuter') {
        m.delete(op.outer);
      } else {
        const inner = m.get(op.outer);
        inner?.delete(op.inner);
        if (inner?.size === 0) m.delete(op.outer);
      }
    },
    view: (m) =>
      [...m.keys()].sort().map((k) => {
        const inner = m.get(k) as Map<string, number>;
        return [k, [...inner.keys()].sort().map((k2) => [k2, [inner.get(k2)]])];
      }),
  },
};

const vertexIds = fc.constantFrom('a', 'b', 'c');
type GraphOp =
  | { readonly kind: 'addVertex'; readonly id: string; readonly attr: number | null }
  | { readonly kind: 'removeVertex'; readonly id: string }
  | {
      readonly kind: 'addEdge' | 'removeEdge';
      readonly from: string;
      readonly to: string;
      readonly label: string | null;
    }
  | { readonly kind: 'setVertexAttr'; readonly id: string; readonly v: number };
interface GraphSpec {
  vertices: Map<string, Record<string, Value>>;
  edges: Map<string, { from: string; to: string; label: string | null }>;
}
export const graphModel: Model<Graph, GraphOp, GraphSpec> = {
  spec: graph(),
  op: fc.oneof(
    fc.record({ kind: fc.constant('addVertex' as const), id: vertexIds, attr: fc.option(small) }),
    fc.record({ kind: fc.constant('removeVertex' as const), id: vertexIds }),
    fc.record({
      kind: fc.constantFrom('addEdge' as const, 'removeEdge' as const),
      from: vertexIds,
      to: vertexIds,
      label: fc.constantFrom(null, 'x'),
    }),
    fc.record({ kind: fc.constant('setVertexAttr' as const), id: vertexIds, v: small }),
  ),
  run(h, op) {
    switch (op.kind) {
      case 'addVertex':
        return h.addVertex(op.id, op.attr === null ? undefined : { w: op.attr });
      case 'removeVertex':
        return h.removeVertex(op.id);
      case 'addEdge':
        return h.addEdge(op.from, op.to, op.label);
      case 'removeEdge':
        return h.removeEdge(op.from, op.to, op.label);
      case 'setVertexAttr':
        return h.setVertexAttr(op.id, 'z', op.v);
    }
  },
  allowed: (e) => e instanceof GraphError,
  view: (h) => ({ vertices: h.vertices(), edges: h.edges().map((e) => [e.from, e.to, e.label]) }),
  seq: {
    init: () => ({ vertices: new Map(), edges: new Map() }),
    step(m, op) {
      switch (op.kind) {
        case 'addVertex':
          m.vertices.set(op.id, {
            ...(m.vertices.get(op.id) ?? {}),
            ...(op.attr === null ? {} : { w: op.attr }),
          });
          return;
        case 'removeVertex':
          m.vertices.delete(op.id);
          return;
        case 'addEdge':
          if (!m.vertices.has(op.from) || !m.vertices.has(op.to)) throw new GraphError('no vertex');
          m.edges.set(JSON.stringify([op.from, op.to, op.label]), op);
          return;
        case 'removeEdge':
          m.edges.delete(JSON.stringify([op.from, op.to, op.label]));
          return;
        case 'setVertexAttr': {
          const attrs = m.vertices.get(op.id);
          if (attrs === undefined) throw new GraphError('no vertex');
          m.vertices.set(op.id, { ...attrs, z: op.v });
        }
      }
    },
    view: (m) => ({
      vertices: [...m.vertices.keys()].sort().map((id) => {
        const attrs = m.vertices.get(id) as Record<string, Value>;
        const sorted: Record<string, Value> = {};
        for (const k of Object.keys(attrs).sort()) sorted[k] = attrs[k] as Value;
        return { id, attrs: sorted };
      }),
      edges: [...m.edges.keys()]
        .sort()
        .map((k) => m.edges.get(k) as { from: string; to: string; label: string | null })
        .filter((e) => m.vertices.has(e.from) && m.vertices.has(e.to))
        .map((e) => [e.from, e.to, e.label]),
    }),
  },
};

type TSOp =
  | { readonly kind: 'append'; readonly series: string; readonly value: number; readonly at: number | null }
  | { readonly kind: 'retain'; readonly mark: number };
interface TSSpec {
  mark: number;
  points: { series: string; at: number; value: number }[];
}
const tsView = (points: { series: string; at: number; value: number }[]): unknown => points;
export const timeSeriesModel: Model<TimeSeries, TSOp, TSSpec> = {
  spec: timeSeries(),
  op: fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant('append' as const),
        series: fc.constantFrom('s', 't'),
        value: fc.integer({ min: -5, max: 5 }),
        at: fc.option(fc.integer({ min: 990, max: 1100 })),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('retain' as const),
        // Marks behind every clock: a mark ahead of the HLC is refused.
        mark: fc.integer({ min: 900, max: 999 }),
      }),
    },
  ),
  run: (h, op) =>
    op.kind === 'append' ? h.append(op.series, op.value, op.at ?? undefined) : h.retain(op.mark),
  view: (h) => ({
    mark: h.mark,
    points: tsView(
      h
        .series()
        .flatMap((series) => h.range(series, 0, 1e9).map((p) => ({ series, at: p.ts.wall, value: p.value }))),
    ),
    rollup: h.rollup('s', 10, 1000, 1050),
  }),
  seq: {
    init: () => ({ mark: 0, points: [] }),
    step(m, op) {
      if (op.kind === 'retain') {
        // A mark past the HLC's last reading makes it look at the physical clock (one tick).
        const clock = m as ClockModel;
        if (op.mark > m.mark && op.mark > (clock.wall ?? 0)) clock.readings = (clock.readings ?? 0) + 1;
        m.mark = Math.max(m.mark, op.mark);
        m.points = m.points.filter((p) => p.at >= m.mark);
        return;
      }
      // The sequential run uses a clock that ticks once per reading, starting at 1000.
      const at = op.at ?? clockReading(m);
      if (at >= m.mark) m.points.push({ series: op.series, at, value: op.value });
    },
    view(m) {
      const points = [...m.points].sort((a, b) =>
        a.series < b.series ? -1 : a.series > b.series ? 1 : a.at - b.at,
      );
      const buckets = new Map<
        number,
        { start: number; count: number; sum: number; min: number; max: number }
      >();
      for (const p of points) {
        if (p.series !== 's' || p.at < 1000 || p.at >= 1050) continue;
        const start = Math.floor(p.at / 10) * 10;
        const b = buckets.get(start) ?? { start, count: 0, sum: 0, min: Infinity, max: -Infinity };
        b.count++;
        b.sum += p.value;
        b.min = Math.min(b.min, p.value);
        b.max = Math.max(b.max, p.value);
        buckets.set(start, b);
      }
      return {
        mark: m.mark,
        points: tsView(points),
        rollup: [...buckets.values()].sort((a, b) => a.start - b.start),
      };
    },
  },
};

/** The solo clock of the sequential check reads 1000, 1001, ... once per `now()`. */
/** The solo run's clock: physical ticks taken, and the HLC's last reading. */
type ClockModel = TSSpec & { readings?: number; wall?: number };

function clockReading(m: ClockModel): number {
  m.readings = (m.readings ?? 0) + 1;
  m.wall = 999 + m.readings;
  return m.wall;
}

type YOp = { readonly key: string; readonly v: number | null };
export const ydocModel: Model<YDoc, YOp, Map<string, number>> = {
  spec: ydoc(),
  op: fc.record({ key: keys, v: fc.option(small) }),
  run(h, op) {
    const map = h.doc.getMap<number>('m');
    if (op.v === null) map.delete(op.key);
    else map.set(op.key, op.v);
  },
  view: (h) => sortedObject(h.doc.getMap('m').toJSON()),
  seq: {
    init: () => new Map(),
    step: (m, op) => void (op.v === null ? m.delete(op.key) : m.set(op.key, op.v)),
    view: (m) => sortedObject(Object.fromEntries([...m.entries()])),
  },
  canonical(state) {
    const doc = new Y.Doc();
    Y.applyUpdate(doc, (state as YDocState).toUpdate());
    return JSON.stringify([
      doc.getMap('m').toJSON(),
      [...Y.decodeStateVector(Y.encodeStateVector(doc))].sort(),
    ]);
  },
};

function sortedObject(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.keys(o)
      .sort()
      .map((k) => [k, o[k]]),
  );
}
