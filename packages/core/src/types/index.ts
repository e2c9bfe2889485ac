export type { MutationSink } from './mutation-sink.ts';
export { BoundedCounter, boundedCounterType, type BoundedCounterState } from './bounded-counter.ts';
export {
  CausalCounter,
  GCounterHandle,
  gcounterType,
  PNCounterHandle,
  pncounterType,
  type GCounter,
  type GCounterState,
  type PNCounter,
  type PNCounterState,
} from './counters.ts';
export {
  GraphError,
  InsufficientRights,
  InvalidArgumentError,
  LimitExceededError,
  TypeSpecError,
  type LimitName,
} from './errors.ts';
export { Handle } from './handle.ts';
export { Graph, graphType, type Edge, type EdgeRef, type GraphState, type Vertex } from './graph.ts';
export {
  CausalLWWRegister,
  LWWRegisterHandle,
  lwwType,
  type LWWRegister,
  type LWWState,
} from './lww-register.ts';
export { MVRegister, mvregisterType, type MVRegisterState } from './mvregister.ts';
export { ORMap, type ORMapState } from './ormap.ts';
export { ORSet, orsetType, type ORSetState } from './orset.ts';
export {
  boundedCounter,
  createHandle,
  gcounter,
  graph,
  isNestable,
  MAX_SPEC_DEPTH,
  MAX_STRUCTURE_DEPTH,
  lww,
  mvregister,
  ormap,
  orset,
  pncounter,
  readSpec,
  sameSpec,
  timeSeries,
  typeFromSpec,
  writeSpec,
  ydoc,
  type HandleOf,
  type Spec,
  type TypeKind,
  type TypeSpec,
} from './spec.ts';
export {
  mergeRollups,
  TimeSeries,
  timeSeriesType,
  type Bucket,
  type Point,
  type TimeSeriesState,
} from './time-series.ts';
export { YDoc, ydocType, YDocState } from './ydoc.ts';
