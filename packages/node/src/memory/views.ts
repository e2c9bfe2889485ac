import type { Edge, Point, Timestamp, Value } from '@meshwork/core';
import type { Json } from '../http-server.ts';
import { toJson } from '../json.ts';
import { pageOf } from './cursor-page.ts';
import type { RegisteredMember, Registration } from './member-registry.ts';
import { textOf, type MemberAccess, type MemberType } from './member-types.ts';
import { MemoryError } from './memory-error.ts';
import type { MemberReadQuery } from './memory-schema.ts';

export type JsonObject = { [key: string]: Json };

/** A member as read: what it is, its merged value, and what a client needs to reason about it. */
export type MemberView = JsonObject & { document: string; member: string; type: MemberType };

/** The query parameters each type answers; any other is refused rather than ignored. */
const QUERIES: { readonly [T in MemberType]: readonly (keyof MemberReadQuery)[] } = {
  lww: [],
  mvregister: [],
  orset: ['limit', 'cursor'],
  pncounter: [],
  boundedcounter: [],
  graph: ['vertex'],
  timeseries: ['series', 'from', 'to', 'bucketMs', 'limit', 'cursor'],
  text: [],
};

const stamp = (ts: Timestamp): Json => ({ wall: ts.wall, logical: ts.logical, replica: ts.replica });

const registrationJson = (r: Registration): Json => ({
  type: r.type,
  createdAt: r.createdAt.wall,
  createdBy: r.createdAt.replica,
});

const edgeJson = (e: Edge): Json => ({ from: e.from, to: e.to, label: e.label, attrs: toJson(e.attrs) });

/** Sorts by timestamp as strings do: fixed-width wall and logical counter, then the replica. */
const pointKey = (p: Point): string =>
  `${String(p.ts.wall).padStart(16, '0')}.${String(p.ts.logical).padStart(10, '0')}.${p.ts.replica}`;

function valueView(type: MemberType, access: MemberAccess, query: MemberReadQuery, self: string): JsonObject {
  switch (type) {
    case 'lww': {
      const register = access.handle('lww');
      const ts = register.timestamp;
      return {
        value: toJson(register.get() ?? null),
        timestamp: ts === undefined ? null : stamp(ts),
        writer: ts?.replica ?? null,
      };
    }
    case 'mvregister':
      return {
        values: access
          .handle('mvregister')
          .writes()
          .map((w) => ({ value: toJson(w.value), writer: w.replica })),
      };
    case 'orset': {
      const values = access
        .handle('orset')
        .values()
        .map((v: Value) => {
          const json = toJson(v);
          return { json, key: JSON.stringify(json) };
        })
        .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      const page = pageOf(values, (v) => v.key, query);
      return { size: values.length, values: page.items.map((v) => v.json), next: page.next };
    }
    case 'pncounter':
      return { value: access.handle('pncounter').value };
    case 'boundedcounter': {
      const counter = access.handle('boundedcounter');
      return { value: counter.value, rights: counter.rights(self) };
    }
    case 'graph': {
      const graph = access.handle('graph');
      if (query.vertex === undefined) {
        return {
          vertices: graph.vertices().map((v) => ({ id: v.id, attrs: toJson(v.attrs) })),
          edges: graph.edges().map(edgeJson),
        };
      }
      const id = query.vertex;
      const vertex = graph.vertices().find((v) => v.id === id);
      if (vertex === undefined)
        throw new MemoryError('not_found', `vertex: no vertex ${JSON.stringify(id)}`, 'vertex');
      const edges = graph.edges();
      return {
        vertex: { id, attrs: toJson(vertex.attrs) },
        out: edges.filter((e) => e.from === id).map(edgeJson),
        in: edges.filter((e) => e.to === id).map(edgeJson),
      };
    }
    case 'timeseries':
      return timeSeriesView(access, query);
    case 'text': {
      const text = textOf(access.handle('text'));
      return { text: text.toJSON(), length: text.length };
    }
  }
}

function timeSeriesView(access: MemberAccess, query: MemberReadQuery): JsonObject {
  const ts = access.handle('timeseries');
  const { series } = query;
  if (series === undefined) {
    const given = (['from', 'to', 'bucketMs', 'limit', 'cursor'] as const).find(
      (k) => query[k] !== undefined,
    );
    if (given !== undefined)
      throw new MemoryError('invalid_request', `${given}: needs series (the series to query)`, given);
    return {
      mark: ts.mark,
      series: ts.series().map((name) => {
        const points = ts.range(name, 0, Number.MAX_SAFE_INTEGER);
        return { name, points: points.length, first: points[0]!.ts.wall, last: points.at(-1)!.ts.wall };
      }),
    };
  }
  const from = query.from ?? 0;
  const to = query.to ?? Number.MAX_SAFE_INTEGER;
  if (query.bucketMs !== undefined) {
    for (const k of ['limit', 'cursor'] as const) {
      if (query[k] !== undefined) throw new MemoryError('invalid_request', `${k}: a rollup is not paged`, k);
    }
    const buckets = ts.rollup(series, query.bucketMs, from, to);
    return { series, from, to, bucketMs: query.bucketMs, buckets: buckets.map((b) => ({ ...b })) };
  }
  const page = pageOf(ts.range(series, from, to), pointKey, query);
  return {
    series,
    from,
    to,
    points: page.items.map((p) => ({ at: p.ts.wall, value: p.value, writer: p.ts.replica })),
    next: page.next,
  };
}

/**
 * The view of `member` of `document`. `self` is this replica (a bounded counter shows the rights
 * it holds). Throws a MemoryError for a query parameter the member's type does not answer.
 */
export function memberView(
  document: string,
  member: RegisteredMember,
  access: MemberAccess,
  query: MemberReadQuery,
  self: string,
): MemberView {
  const allowed = QUERIES[member.type];
  for (const [k, v] of Object.entries(query) as [keyof MemberReadQuery, unknown][]) {
    if (v !== undefined && !allowed.includes(k))
      throw new MemoryError('invalid_request', `${k}: not a query of a ${member.type} member`, k);
  }
  return {
    document,
    member: member.name,
    type: member.type,
    createdAt: member.createdAt.wall,
    createdBy: member.createdAt.replica,
    ...valueView(member.type, access, query, self),
    conflicts: member.conflicts.map(registrationJson),
  };
}
