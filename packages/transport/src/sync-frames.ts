import { DecodeError } from '@meshwork/core';
import { Reader, Writer } from '@meshwork/core/internal';

/** Frames of `/meshwork/sync/3`. Each is one length-prefixed message on the stream. */
export type SyncFrame =
  | { kind: 'digest'; document: string; digest: Uint8Array }
  | { kind: 'update'; document: string; update: Uint8Array }
  | { kind: 'snapshot-chunk'; document: string; chunk: Uint8Array }
  /** Ends the sender's part of the current phase; the last one ends the round. */
  | { kind: 'end' };

// The id changes with every wire-incompatible change (docs/design/transport-gossip.md). 2: snapshot
// chunks carry their piece's hash and size; Document updates are of message version 2.
export const SYNC_PROTOCOL = '/meshwork/sync/3';
const VERSION = 1;
const KIND = { digest: 1, update: 2, 'snapshot-chunk': 3, end: 4 } as const;
export const MAX_DOCUMENT_NAME_BYTES = 128;

/** Bytes a frame adds around its payload, at most: version, kind, name and two length varints. */
export const FRAME_OVERHEAD_BYTES = 2 + 2 + MAX_DOCUMENT_NAME_BYTES + 5;

export function encodeSyncFrame(frame: SyncFrame): Uint8Array {
  const w = new Writer();
  w.byte(VERSION);
  w.byte(KIND[frame.kind]);
  switch (frame.kind) {
    case 'digest':
      w.string(frame.document);
      w.bytes(frame.digest);
      break;
    case 'update':
      w.string(frame.document);
      w.bytes(frame.update);
      break;
    case 'snapshot-chunk':
      w.string(frame.document);
      w.bytes(frame.chunk);
      break;
    case 'end':
      break;
  }
  return w.finish();
}

/** Decodes one frame; throws {@link DecodeError} on anything else. */
export function decodeSyncFrame(bytes: Uint8Array): SyncFrame {
  const r = new Reader(bytes);
  const version = r.byte('version');
  if (version !== VERSION) throw new DecodeError('version', `sync frame version ${version}`);
  const kind = r.byte('kind');
  let frame: SyncFrame;
  switch (kind) {
    case KIND.digest:
      frame = { kind: 'digest', document: readName(r), digest: r.bytes('digest') };
      break;
    case KIND.update:
      frame = { kind: 'update', document: readName(r), update: r.bytes('update') };
      break;
    case KIND['snapshot-chunk']:
      frame = { kind: 'snapshot-chunk', document: readName(r), chunk: r.bytes('chunk') };
      break;
    case KIND.end:
      frame = { kind: 'end' };
      break;
    default:
      throw new DecodeError('kind', `sync frame kind ${kind}`);
  }
  r.end('sync frame');
  return frame;
}

function readName(r: Reader): string {
  const name = r.string('document name');
  if (!isDocumentName(name)) throw new DecodeError('invalid', `document name ${JSON.stringify(name)}`);
  return name;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._:/-]*$/;

/** Document names are 1–128 bytes of `[A-Za-z0-9._:/-]`, starting alphanumeric: they become topic names. */
export function isDocumentName(name: string): boolean {
  return name.length > 0 && name.length <= MAX_DOCUMENT_NAME_BYTES && NAME.test(name);
}
