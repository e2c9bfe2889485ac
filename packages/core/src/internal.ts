// Building blocks shared by Meshwork's own packages and tests: `@meshwork/core/internal`. No
// compatibility promise: these change with the encoding and the data structures.
export { Reader, readValue, Writer, writeValue } from './codec/index.ts';
export {
  causalType,
  compareDots,
  DotFun,
  DotMap,
  DotSet,
  funKind,
  joinStore,
  mapKind,
  setKind,
  type Causal,
  type DotStore,
  type FunEntry,
  type StoreKind,
  type ValueCodec,
} from './causal/index.ts';
export { readTimestamp, writeTimestamp } from './clock/index.ts';
export {
  boundedCounterType,
  CausalCounter,
  CausalLWWRegister,
  GCounterHandle,
  gcounterType,
  graphType,
  LWWRegisterHandle,
  lwwType,
  mvregisterType,
  orsetType,
  PNCounterHandle,
  pncounterType,
  readSpec,
  timeSeriesType,
  writeSpec,
  YDocState,
  ydocType,
  type BoundedCounterState,
  type GCounterState,
  type GraphState,
  type LWWState,
  type MVRegisterState,
  type ORMapState,
  type ORSetState,
  type PNCounterState,
  type TimeSeriesState,
} from './types/index.ts';
export { MESSAGE_VERSION, MessageKind, messageKind } from './document/index.ts';
export { createPhiDetector, defaultPhiOptions, type PhiDetector } from './membership/phi.ts';
export {
  decodeFrame as decodeMembershipFrame,
  encodeFrame as encodeMembershipFrame,
  type MembershipFrame,
} from './membership/frames.ts';
