import type { Causal } from '../causal/causal-state.ts';
import { causalType } from '../causal/causal-state.ts';
import { mapKind, type DotMap, type DotStore, type StoreKind } from '../causal/dot-store.ts';
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
  storeKindOf(value);
  return { kind: 'ormap', value };
};

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
  switch (spec.kind) {
    case 'orset':
    case 'lww':
    case 'mvregister':
    case 'gcounter':
    case 'pncounter':
      return true;
    case 'ormap':
      return isNestable(spec.value);
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
  if (a.kind !== b.kind) return false;
  return a.kind === 'ormap' && b.kind === 'ormap' ? sameSpec(a.value, b.value) : true;
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
  w.uint(KINDS.indexOf(spec.kind));
  if (spec.kind === 'ormap') writeSpec(w, spec.value);
}

/** Reads a spec, bounded by the reader's depth limit; nested specs must be nestable. */
export function readSpec(r: Reader): TypeSpec {
  const index = r.uint('type spec kind');
  const kind = KINDS[index];
  if (kind === undefined) throw new DecodeError('invalid', `type spec: unknown kind ${index}`);
  if (kind !== 'ormap') return { kind };
  const value = r.nested('type spec', () => readSpec(r));
  if (!isNestable(value))
    throw new DecodeError('invalid', `type spec: ${value.kind} cannot be an ORMap value`);
  return { kind, value };
}
