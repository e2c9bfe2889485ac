export * from './codec/index.ts';
export type { CrdtType } from './crdt-type.ts';
export type { PresenceChannel, PresenceState } from './presence.ts';
export type { ReplicaId } from './replica.ts';
export * from './causal/index.ts';
export * from './clock/index.ts';
export * from './types/index.ts';
export * from './document/index.ts';
