export { CausalContext } from './causal-context.ts';
export { causalType, type Causal } from './causal-state.ts';
export { compareDots, MAX_SEQ, type Dot } from './dot.ts';
export {
  DotFun,
  DotMap,
  DotSet,
  funKind,
  joinStore,
  mapKind,
  setKind,
  type DotStore,
  type FunEntry,
  type StoreKind,
  type ValueCodec,
} from './dot-store.ts';
