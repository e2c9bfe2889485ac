import type { DecodeLimits } from '../codec/limits.ts';
import { CausalContext } from '../causal/causal-context.ts';
import { causalType, type Causal } from '../causal/causal-state.ts';
import { collectDots, DotFun, DotMap } from '../causal/dot-store.ts';
import { mapKind } from '../causal/store-kind.ts';
import { DecodeError } from '../codec/decode-error.ts';
import type { Value } from '../codec/value.ts';
import type { CrdtType } from '../crdt-type.ts';
import type { ReplicaId } from '../replica.ts';
import { checkRoom, checkString, checkValue } from './check.ts';
import { GraphError, InvalidArgumentError } from './errors.ts';
import { causalLwwKind } from './lww-register.ts';
import { funWrite } from './mvregister.ts';
import { laterThan, latest, type Stamped } from './ts-value.ts';
import type { Timestamp } from '../clock/timestamp.ts';
import { Handle } from './handle.ts';

/**
 * Graph state, a composition of dot maps: 'v' → vertex id → item, and
 * 'e' → edge key → item, where an item maps '' (presence) and '.name'
 * (attribute registers) to stamped writes. An item is present while it holds
 * any dot, so adds, attribute writes and removes follow the ORMap rules.
 */
type Item = DotMap<DotFun<Stamped>>;
type Items = DotMap<Item>;
export type GraphState = Causal<DotMap<Items>>;

const VERTICES = 'v';
const EDGES = 'e';
const PRESENCE = '';

const graphKind = mapKind(mapKind(mapKind(causalLwwKind)));
const graphCausal = causalType<DotMap<Items>>('graph', graphKind);

export const graphType: CrdtType<GraphState> = {
  ...graphCausal,
  decode(r) {
    const state = graphCausal.decode(r);
    for (const [section, items] of state.store.entries) {
      if (section === EDGES) for (const key of items.entries.keys()) parseEdgeKey(key);
      else if (section !== VERTICES) throw new DecodeError('invalid', `graph: unknown section ${section}`);
      for (const item of items.entries.values()) {
        for (const attr of item.entries.keys()) {
          if (attr !== PRESENCE && !attr.startsWith('.'))
            throw new DecodeError('invalid', 'graph: bad attribute key');
        }
      }
    }
    return state;
  },
};

export interface Vertex {
  readonly id: string;
  readonly attrs: Record<string, Value>;
}

export interface Edge {
  readonly from: string;
  readonly to: string;
  readonly label: string | null;
  readonly attrs: Record<string, Value>;
}

/** Identifies an edge: endpoints and optional label. */
export interface EdgeRef {
  readonly from: string;
  readonly to: string;
  readonly label?: string | null;
}

function edgeKey(from: string, to: string, label: string | null): string {
  return JSON.stringify([from, to, label]);
}

function parseEdgeKey(key: string): [string, string, string | null] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(key);
  } catch {
    throw new DecodeError('invalid', 'graph: bad edge key');
  }
  if (!Array.isArray(parsed) || parsed.length !== 3) throw new DecodeError('invalid', 'graph: bad edge key');
  const [from, to, label] = parsed as unknown[];
  if (
    typeof from !== 'string' ||
    typeof to !== 'string' ||
    !(typeof label === 'string' || label === null) ||
    edgeKey(from, to, label) !== key
  ) {
    throw new DecodeError('invalid', 'graph: bad edge key');
  }
  return [from, to, label];
}

function itemOf(state: GraphState, section: string, key: string): Item | undefined {
  return state.store.entries.get(section)?.entries.get(key);
}

/**
 * Writes presence and/or attributes of an item, each under a fresh dot that
 * supersedes the writes it saw. Returns the delta.
 */
function graphWrite(
  state: GraphState,
  replica: ReplicaId,
  now: Timestamp,
  section: string,
  key: string,
  writes: ReadonlyMap<string, Value>,
): GraphState {
  const item = state.store.entries.get(section)?.entries.get(key);
  const ctx = new CausalContext();
  const deltaItem = new DotMap<DotFun<Stamped>>(true);
  // Each write takes the next fresh dot: the state's context learns them only at the join.
  let seq = state.ctx.nextSeq(replica);
  for (const [attr, value] of writes) {
    const fun = item?.entries.get(attr) ?? new DotFun<Stamped>();
    const ts = laterThan(now, latest(fun.entries)?.ts);
    const delta = funWrite<Stamped>({ store: fun, ctx: state.ctx }, replica, { ts, value }, seq++);
    ctx.join(delta.ctx);
    deltaItem.entries.set(attr, delta.store);
  }
  return sectionDelta(section, key, deltaItem, ctx);
}

/** The delta removing an item: its context holds every dot observed under it. */
function graphRemove(state: GraphState, section: string, key: string): GraphState | undefined {
  const item = state.store.entries.get(section)?.entries.get(key);
  if (item === undefined) return undefined;
  const ctx = new CausalContext();
  collectDots(item, ctx);
  return sectionDelta(section, key, new DotMap<DotFun<Stamped>>(), ctx);
}

function sectionDelta(section: string, key: string, item: Item, ctx: CausalContext): GraphState {
  const items = new DotMap<Item>(true);
  items.entries.set(key, item);
  const store = new DotMap<Items>(true);
  store.entries.set(section, items);
  return { store, ctx };
}

function attrsOf(item: Item): Record<string, Value> {
  const attrs: Record<string, Value> = {};
  for (const attr of [...item.entries.keys()].sort()) {
    if (attr === PRESENCE) continue;
    const v = latest((item.entries.get(attr) as DotFun<Stamped>).entries);
    if (v !== undefined) attrs[attr.slice(1)] = v.value;
  }
  return attrs;
}

function attrWrites(
  attrs: Record<string, Value> | undefined,
  presence: boolean,
  limits: DecodeLimits | undefined,
): Map<string, Value> {
  const writes = new Map<string, Value>();
  if (presence) writes.set(PRESENCE, null);
  if (attrs === undefined) return writes;
  if (typeof attrs !== 'object' || attrs === null || Array.isArray(attrs)) {
    throw new InvalidArgumentError('graph attributes: expected an object');
  }
  for (const name of Object.keys(attrs).sort()) {
    const value = attrs[name];
    checkString(name, 'graph attribute name', limits);
    checkValue(value, `graph attribute ${name}`, limits);
    writes.set('.' + name, value);
  }
  return writes;
}

/**
 * Add-wins graph. Vertices and edges are observed-remove items with LWW
 * attribute registers. An edge is shown only while both endpoints are
 * present; it is kept, hidden, while one is removed, and shows again when
 * the endpoint is added back.
 */
export class Graph extends Handle<GraphState> {
  addVertex(id: string, attrs?: Record<string, Value>): void {
    checkString(id, 'Graph.addVertex', this.sink.limits);
    this.write(VERTICES, id, attrWrites(attrs, true, this.sink.limits));
  }

  removeVertex(id: string): void {
    checkString(id, 'Graph.removeVertex', this.sink.limits);
    const delta = graphRemove(this.state, VERTICES, id);
    if (delta !== undefined) this.sink.emit(delta);
  }

  /** Adds an edge between present vertices; throws {@link GraphError} when an endpoint is absent. */
  addEdge(from: string, to: string, label?: string | null, attrs?: Record<string, Value>): void {
    checkString(from, 'Graph.addEdge from', this.sink.limits);
    checkString(to, 'Graph.addEdge to', this.sink.limits);
    const l = normalLabel(label, this.sink.limits);
    for (const id of [from, to]) if (!this.hasVertex(id)) throw new GraphError(`addEdge: no vertex ${id}`);
    this.write(EDGES, edgeKey(from, to, l), attrWrites(attrs, true, this.sink.limits));
  }

  removeEdge(from: string, to: string, label?: string | null): void {
    checkString(from, 'Graph.removeEdge from', this.sink.limits);
    checkString(to, 'Graph.removeEdge to', this.sink.limits);
    const delta = graphRemove(this.state, EDGES, edgeKey(from, to, normalLabel(label, this.sink.limits)));
    if (delta !== undefined) this.sink.emit(delta);
  }

  setVertexAttr(id: string, name: string, value: Value): void {
    checkString(id, 'Graph.setVertexAttr', this.sink.limits);
    checkString(name, 'Graph.setVertexAttr name', this.sink.limits);
    if (!this.hasVertex(id)) throw new GraphError(`setVertexAttr: no vertex ${id}`);
    this.write(VERTICES, id, attrWrites({ [name]: value }, false, this.sink.limits));
  }

  setEdgeAttr(edge: EdgeRef, name: string, value: Value): void {
    checkString(edge.from, 'Graph.setEdgeAttr from', this.sink.limits);
    checkString(edge.to, 'Graph.setEdgeAttr to', this.sink.limits);
    checkString(name, 'Graph.setEdgeAttr name', this.sink.limits);
    const key = edgeKey(edge.from, edge.to, normalLabel(edge.label, this.sink.limits));
    if (itemOf(this.state, EDGES, key) === undefined) throw new GraphError(`setEdgeAttr: no edge ${key}`);
    this.write(EDGES, key, attrWrites({ [name]: value }, false, this.sink.limits));
  }

  hasVertex(id: string): boolean {
    return itemOf(this.state, VERTICES, id) !== undefined;
  }

  /** True when the edge exists and both its endpoints are present. */
  hasEdge(from: string, to: string, label?: string | null): boolean {
    return (
      itemOf(this.state, EDGES, edgeKey(from, to, normalLabel(label, this.sink.limits))) !== undefined &&
      this.hasVertex(from) &&
      this.hasVertex(to)
    );
  }

  /** Present vertices, sorted by id. */
  vertices(): Vertex[] {
    const items = this.state.store.entries.get(VERTICES);
    if (items === undefined) return [];
    return [...items.entries.keys()]
      .sort()
      .map((id) => ({ id, attrs: attrsOf(items.entries.get(id) as Item) }));
  }

  /** Visible edges (both endpoints present), in a deterministic order. */
  edges(): Edge[] {
    const items = this.state.store.entries.get(EDGES);
    if (items === undefined) return [];
    const out: Edge[] = [];
    for (const key of [...items.entries.keys()].sort()) {
      const [from, to, label] = parseEdgeKey(key);
      if (!this.hasVertex(from) || !this.hasVertex(to)) continue;
      out.push({ from, to, label, attrs: attrsOf(items.entries.get(key) as Item) });
    }
    return out;
  }

  private write(section: string, key: string, writes: Map<string, Value>): void {
    const limits = this.sink.limits;
    const items = this.state.store.entries.get(section);
    const item = items?.entries.get(key);
    if (item === undefined) checkRoom(items?.entries.size ?? 0, 'Graph', limits);
    let attrs = item?.entries.size ?? 0;
    for (const attr of writes.keys())
      if (item?.entries.has(attr) !== true) checkRoom(attrs++, 'Graph attributes', limits);
    this.sink.emit(graphWrite(this.state, this.sink.replica, this.sink.hlc.now(), section, key, writes));
  }
}

function normalLabel(label: string | null | undefined, limits: DecodeLimits | undefined): string | null {
  if (label === undefined || label === null) return null;
  checkString(label, 'graph edge label', limits);
  return label;
}
