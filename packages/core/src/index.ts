export * from './codec/index.ts';
export type { CrdtType } from './crdt-type.ts';
export * from './membership/index.ts';
export type { ReplicaId } from './replica.ts';
export * from './causal/index.ts';
export * from './clock/index.ts';
export * from './types/index.ts';
export * from './document/index.ts';
