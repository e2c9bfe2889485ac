import type { Causal } from '../causal/causal-state.ts';
import { causalType } from '../causal/causal-state.ts';
import { type DotMap, type DotStore } from '../causal/dot-store.ts';
import { mapKind, type StoreKind } from '../causal/store-kind.ts';
import { DecodeError } from '../codec/decode-error.ts';
import type { Reader } from '../codec/reader.ts';
import type { Value } from '../codec/value.ts';
import type { Writer } from '../codec/writer.ts';
import type { CrdtType } from '../crdt-type.ts';
import { BoundedCounter, boundedCounterType, type BoundedCounterState } from './bounded-counter.ts';
import {
  CausalCounter,
  causalCounterKind,
  GCounterHandle,
  gcounterType,
  PNCounterHandle,
  pncounterType,
  type CausalCounterState,
  type GCounter,
  type GCounterState,
  type PNCounter,
  type PNCounterState,
} from './counters.ts';
import { TypeSpecError } from './errors.ts';
import { Graph, graphType, type GraphState } from './graph.ts';
import {
  CausalLWWRegister,
  causalLwwKind,
  LWWRegisterHandle,
  lwwType,
  type CausalLWWState,
  type LWWRegister,
  type LWWState,
} from './lww-register.ts';
import type { MutationSink } from './mutation-sink.ts';
import { MVRegister, mvregisterKind, mvregisterType, type MVRegisterState } from './mvregister.ts';
import { ORMap, type NestedHandleFactory, type ORMapState } from './ormap.ts';
import { ORSet, orsetKind, orsetType, type ORSetState } from './orset.ts';
import { TimeSeries, timeSeriesType, type TimeSeriesState } from './time-series.ts';
import { YDoc, ydocType, type YDocState } from './ydoc.ts';

/** The type of a document member, as data: what a replica needs to create a member it first sees remotely. */
export type TypeSpec =
  | { readonly kind: 'orset' }
  | { readonly kind: 'lww' }
  | { readonly kind: 'mvregister' }
  | { readonly kind: 'gcounter' }
  | { readonly kind: 'pncounter' }
  | { readonly kind: 'boundedcounter' }
  | { readonly kind: 'ormap'; readonly value: TypeSpec }
  | { readonly kind: 'graph' }
  | { readonly kind: 'timeseries' }
  | { readonly kind: 'ydoc' };

export type TypeKind = TypeSpec['kind'];

/** A {@link TypeSpec} that also records, for the compiler only, the handle type `H` it yields. */
export type Spec<H> = TypeSpec & { readonly __handle?: H };

/** The handle type a spec yields. */
export type HandleOf<S> = S extends { readonly __handle?: infer H } ? NonNullable<H> : never;

export const orset = <V extends Value = Value>(): Spec<ORSet<V>> => ({ kind: 'orset' });
export const lww = <V extends Value = Value>(): Spec<LWWRegister<V>> => ({ kind: 'lww' });
export const mvregister = <V extends Value = Value>(): Spec<MVRegister<V>> => ({ kind: 'mvregister' });
export const gcounter = (): Spec<GCounter> => ({ kind: 'gcounter' });
export const pncounter = (): Spec<PNCounter> => ({ kind: 'pncounter' });
export const boundedCounter = (): Spec<BoundedCounter> => ({ kind: 'boundedcounter' });
export const graph = (): Spec<Graph> => ({ kind: 'graph' });
export const timeSeries = (): Spec<TimeSeries> => ({ kind: 'timeseries' });
export const ydoc = (): Spec<YDoc> => ({ kind: 'ydoc' });
/** A map of string keys to values of type `value`, which must be nestable (see {@link isNestable}). */
export const ormap = <H>(value: Spec<H>): Spec<ORMap<H>> => {
  if (mapDepth(value) >= MAX_SPEC_DEPTH) {
    throw new TypeSpecError(`ORMaps nest at most ${MAX_SPEC_DEPTH} deep`);
  }
  storeKindOf(value);
  return { kind: 'ormap', value };
};

/**
 * Most ORMaps nested in one spec. A member's state nests one level per ORMap plus two
 * (the member, a set leaf), well within `DecodeLimits.maxDepth`, so every spec a program
 * can build decodes on every peer.
 */
export const MAX_SPEC_DEPTH = 16;
/** Structural depth the deepest member state needs: what `DecodeLimits.maxDepth` must allow. */
export const MAX_STRUCTURE_DEPTH = MAX_SPEC_DEPTH + 2;

/** ORMap levels in `spec` (walked iteratively: a hand-built spec may be any depth). */
function mapDepth(spec: TypeSpec): number {
  let depth = 0;
  let s: TypeSpec | undefined = spec;
  // Bounded, so a cyclic hand-built spec ends the walk too.
  while (typeof s === 'object' && s !== null && s.kind === 'ormap' && depth <= MAX_SPEC_DEPTH) {
    depth++;
    s = s.value;
  }
  return depth;
}

const KINDS: readonly TypeKind[] = [
  'orset',
  'lww',
  'mvregister',
  'gcounter',
  'pncounter',
  'boundedcounter',
  'ormap',
  'graph',
  'timeseries',
  'ydoc',
];

/** True when values of this spec can live in an ORMap (they are causal: removable by observed dots). */
export function isNestable(spec: TypeSpec): boolean {
  for (let i = 0; spec.kind === 'ormap'; i++) {
    if (i > MAX_SPEC_DEPTH) return false;
    spec = spec.value;
  }
  switch (spec.kind) {
    case 'orset':
    case 'lww':
    case 'mvregister':
    case 'gcounter':
    case 'pncounter':
      return true;
    default:
      return false;
  }
}

/** The dot store shape of a nestable spec; throws {@link TypeSpecError} for others. */
function storeKindOf(spec: TypeSpec): StoreKind {
  switch (spec.kind) {
    case 'orset':
      return orsetKind;
    case 'lww':
      return causalLwwKind;
    case 'mvregister':
      return mvregisterKind;
    case 'gcounter':
    case 'pncounter':
      return causalCounterKind;
    case 'ormap':
      return mapKind(storeKindOf(spec.value));
    default:
      throw new TypeSpecError(`${spec.kind} cannot be an ORMap value`);
  }
}

export function sameSpec(a: TypeSpec, b: TypeSpec): boolean {
  for (;;) {
    if (a.kind !== b.kind) return false;
    if (a.kind !== 'ormap' || b.kind !== 'ormap') return true;
    a = a.value;
    b = b.value;
  }
}

/** A member kind whose CRDT type and handle do not depend on a nested spec. */
interface MemberKind {
  readonly type: CrdtType<unknown>;
  handle(state: unknown, sink: MutationSink<unknown>): unknown;
}

/** Every kind but 'ormap', whose type and handle are built from its value spec. */
const MEMBER_KINDS: Record<Exclude<TypeKind, 'ormap'>, MemberKind> = {
  orset: { type: orsetType, handle: (state, sink) => new ORSet(state as ORSetState, sink) },
  lww: { type: lwwType, handle: (state, sink) => new LWWRegisterHandle(state as LWWState, sink) },
  mvregister: {
    type: mvregisterType,
    handle: (state, sink) => new MVRegister(state as MVRegisterState, sink),
  },
  gcounter: { type: gcounterType, handle: (state, sink) => new GCounterHandle(state as GCounterState, sink) },
  pncounter: {
    type: pncounterType,
    handle: (state, sink) => new PNCounterHandle(state as PNCounterState, sink),
  },
  boundedcounter: {
    type: boundedCounterType,
    handle: (state, sink) => new BoundedCounter(state as BoundedCounterState, sink),
  },
  graph: { type: graphType, handle: (state, sink) => new Graph(state as GraphState, sink) },
  timeseries: {
    type: timeSeriesType,
    handle: (state, sink) => new TimeSeries(state as TimeSeriesState, sink),
  },
  ydoc: { type: ydocType, handle: (state, sink) => new YDoc(state as YDocState, sink) },
};

/** The CRDT type of a document member of this spec. */
export function typeFromSpec(spec: TypeSpec): CrdtType<unknown> {
  return spec.kind === 'ormap' ? causalType('ormap', storeKindOf(spec)) : MEMBER_KINDS[spec.kind].type;
}

/**
 * The handle of a document member: `state` must come from
 * `typeFromSpec(spec)` (and be joined in place, never replaced), `sink`
 * receives the deltas of its mutations.
 */
export function createHandle<S extends TypeSpec>(
  spec: S,
  state: unknown,
  sink: MutationSink<unknown>,
): HandleOf<S> {
  return makeHandle(spec, state, sink) as HandleOf<S>;
}

function makeHandle(spec: TypeSpec, state: unknown, sink: MutationSink<unknown>): unknown {
  if (spec.kind !== 'ormap') return MEMBER_KINDS[spec.kind].handle(state, sink);
  return new ORMap(state as ORMapState, sink, storeKindOf(spec.value), nestedFactory(spec.value));
}

/** Builds handles of ORMap values: the causal variants of registers and counters. */
function nestedFactory(spec: TypeSpec): NestedHandleFactory<unknown> {
  switch (spec.kind) {
    case 'orset':
      return (state, sink) => new ORSet(state as ORSetState, sink);
    case 'mvregister':
      return (state, sink) => new MVRegister(state as MVRegisterState, sink);
    case 'lww':
      return (state, sink) => new CausalLWWRegister(state as CausalLWWState, sink);
    case 'gcounter':
    case 'pncounter': {
      const grow = spec.kind === 'gcounter';
      return (state, sink) => new CausalCounter(state as CausalCounterState, sink, grow);
    }
    case 'ormap': {
      const valueKind = storeKindOf(spec.value);
      const inner = nestedFactory(spec.value);
      return (state, sink) => new ORMap(state as Causal<DotMap<DotStore>>, sink, valueKind, inner);
    }
    default:
      throw new TypeSpecError(`${spec.kind} cannot be an ORMap value`);
  }
}

/** Writes a spec: its kind's index, then nested value specs. */
export function writeSpec(w: Writer, spec: TypeSpec): void {
  if (mapDepth(spec) > MAX_SPEC_DEPTH) throw new TypeSpecError(`ORMaps nest at most ${MAX_SPEC_DEPTH} deep`);
  for (let s = spec; ; s = s.value) {
    w.uint(KINDS.indexOf(s.kind));
    if (s.kind !== 'ormap') return;
  }
}

/** Reads a spec, at most {@link MAX_SPEC_DEPTH} ORMaps deep; nested specs must be nestable. */
export function readSpec(r: Reader): TypeSpec {
  let maps = 0;
  let kind: TypeKind;
  for (;;) {
    const index = r.uint('type spec kind');
    const k = KINDS[index];
    if (k === undefined) throw new DecodeError('invalid', `type spec: unknown kind ${index}`);
    if (k !== 'ormap') {
      kind = k;
      break;
    }
    if (++maps > MAX_SPEC_DEPTH) {
      throw new DecodeError('too_deep', `type spec: ORMaps nest deeper than ${MAX_SPEC_DEPTH}`);
    }
  }
  let spec = { kind } as TypeSpec;
  if (maps > 0 && !isNestable(spec)) {
    throw new DecodeError('invalid', `type spec: ${kind} cannot be an ORMap value`);
  }
  for (let i = 0; i < maps; i++) spec = { kind: 'ormap', value: spec };
  return spec;
}
