export { CausalContext } from './causal-context.ts';
export { compareDots, type Dot } from './dot.ts';
