// Wire codecs shared with Meshwork's tests and fuzzer: `@meshwork/transport/internal`. No
// compatibility promise beyond the protocol ids.
export {
  createGossipEnvelope,
  GossipEnvelopeError,
  type GossipEnvelope,
  type OpenedGossip,
} from './gossip-envelope.ts';
export { decodeSyncFrame, encodeSyncFrame, type SyncFrame } from './sync-frames.ts';
export { meshProtocols, refusalReasons, rejectReasons } from './metrics.ts';
