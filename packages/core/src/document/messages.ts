import { DecodeError } from '../codec/decode-error.ts';
import type { Reader } from '../codec/reader.ts';
import type { Writer } from '../codec/writer.ts';

/** Wire format version written as the first byte of every Document message. */
export const MESSAGE_VERSION = 2;
/**
 * Version 1, still read: it differs only in update messages holding several events, whose
 * replica ids and members were interned across the whole message rather than per event.
 */
export const LEGACY_VERSION = 1;
const readable = (version: number | undefined): boolean =>
  version === MESSAGE_VERSION || version === LEGACY_VERSION;

/** The second byte of every Document message: what follows. */
export const MessageKind = {
  Update: 1,
  SnapshotChunk: 2,
  Digest: 3,
} as const;
export type MessageKind = (typeof MessageKind)[keyof typeof MessageKind];

const kindNames: Record<MessageKind, string> = {
  [MessageKind.Update]: 'update',
  [MessageKind.SnapshotChunk]: 'snapshot chunk',
  [MessageKind.Digest]: 'digest',
};

export function writeHeader(w: Writer, kind: MessageKind): void {
  w.byte(MESSAGE_VERSION);
  w.byte(kind);
}

/** Reads the version and kind bytes; throws DecodeError unless the kind is one of `expected`. */
export function readHeader(r: Reader, ...expected: MessageKind[]): MessageKind {
  const version = r.byte('message version');
  if (!readable(version)) {
    throw new DecodeError('version', `message version ${version}, expected ${MESSAGE_VERSION}`);
  }
  const kind = r.byte('message kind');
  if (!(expected as number[]).includes(kind)) {
    const want = expected.map((k) => kindNames[k]).join(' or ');
    throw new DecodeError('kind', `message kind ${kind}, expected ${want}`);
  }
  return kind as MessageKind;
}

/** The kind of a Document message, read from its first two bytes without decoding the rest. */
export function messageKind(bytes: Uint8Array): MessageKind {
  if (bytes.byteLength < 2) throw new DecodeError('truncated', 'message shorter than its header');
  if (!readable(bytes[0])) {
    throw new DecodeError('version', `message version ${bytes[0]}, expected ${MESSAGE_VERSION}`);
  }
  const kind = bytes[1] as number;
  if (kind !== MessageKind.Update && kind !== MessageKind.SnapshotChunk && kind !== MessageKind.Digest) {
    throw new DecodeError('kind', `unknown message kind ${kind}`);
  }
  return kind;
}
