export { createMeshNode, PEERS_TOPIC, type MeshLibp2p, type MeshNode } from './mesh-node.ts';
export { PRUNE_PROTOCOL } from './topology.ts';
export type { CatchUpOptions, CatchUpReport } from './catch-up.ts';
export { coreRuntime } from './core-runtime.ts';
export { defaultLimits, type MeshLimits, type MeshNodeOptions } from './options.ts';
export type {
  ApplyResult,
  ChangeListener,
  DocumentChange,
  DocumentRuntime,
  SyncedDocument,
} from './synced-document.ts';
export { KeyFileError, ListenAddressInUseError, MeshConfigError, MeshStoppedError } from './errors.ts';
export { loadOrCreateIdentity, saveIdentity } from './identity.ts';
export { createSwarmKey } from './swarm-key.ts';
export type {
  MeshCounters,
  MeshEvent,
  MeshEventListener,
  MeshMetrics,
  MeshMetricsEvents,
  MeshProtocol,
  RefusalReason,
  RejectReason,
} from './metrics.ts';
export type { MeshLogger } from './refusal-log.ts';
export { MEMBERSHIP_PROTOCOL, type MeshMembership } from './membership.ts';
export { documentTopic } from './document-gossip.ts';
export { SYNC_PROTOCOL, isDocumentName } from './sync-frames.ts';
