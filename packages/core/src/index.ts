export * from './codec/index.ts';
export type { CrdtType } from './crdt-type.ts';
export type { PresenceChannel, PresenceState } from './presence.ts';
export type { ReplicaId } from './replica.ts';
