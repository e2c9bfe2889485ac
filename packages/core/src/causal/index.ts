export { CausalContext } from './causal-context.ts';
export { causalType, type Causal } from './causal-state.ts';
export { compareDots, MAX_SEQ, type Dot } from './dot.ts';
export { joinStore } from './causal-join.ts';
export { DotSet } from './dot-set.ts';
export { DotFun, DotMap, type DotStore, type FunEntry } from './dot-store.ts';
export { funKind, mapKind, setKind, type StoreKind, type ValueCodec } from './store-kind.ts';
