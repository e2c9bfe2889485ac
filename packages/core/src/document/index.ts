export { createDocument } from './document.ts';
export type {
  ApplyOptions,
  ApplyResult,
  ChangeEvent,
  ChangeListener,
  ChangesSince,
  Document,
  DocumentEvents,
  DocumentOptions,
  SnapshotOptions,
} from './document-api.ts';
export { decodeDigest, encodeDigest, type Digest } from './digest.ts';
export { DocumentArgumentError, MemberTypeError } from './errors.ts';
export { type EventLogLimits } from './event-log.ts';
export { mergeUpdates, updateOrigins } from './merge.ts';
export { MESSAGE_VERSION, MessageKind, messageKind } from './messages.ts';
