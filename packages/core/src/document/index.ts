export {
  createDocument,
  type ApplyOptions,
  type ApplyResult,
  type ChangeEvent,
  type ChangeListener,
  type ChangesSince,
  type Document,
  type DocumentOptions,
  type SnapshotOptions,
} from './document.ts';
export { decodeDigest, encodeDigest, type Digest } from './digest.ts';
export { DocumentArgumentError, MemberTypeError } from './errors.ts';
export { type EventLogLimits } from './event-log.ts';
export { mergeUpdates, updateOrigins } from './merge.ts';
export { MESSAGE_VERSION, MessageKind, messageKind } from './messages.ts';
