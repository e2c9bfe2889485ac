import { DecodeError } from '../codec/decode-error.ts';
import { Reader } from '../codec/reader.ts';
import { Writer } from '../codec/writer.ts';
import { readMemberRecord, writeMemberRecord, type MemberRecord } from './member-record.ts';

const VERSION = 2;
const HEARTBEAT = 1;
const RECORDS = 2;
/** Most links one record may list: far above any node's degree. */
const MAX_LINKS = 1024;

/**
 * What neighbours send each other: a heartbeat carrying the sender's table digest (its liveness
 * signal and anti-entropy trigger in one) and how late its own ticks have run lately (its local
 * health, see local-health.ts), or member records (rumours, or a table after a mismatch or a new
 * link).
 */
export type MembershipFrame =
  | { readonly kind: 'heartbeat'; readonly digest: readonly [number, number]; readonly lagMs: number }
  | { readonly kind: 'records'; readonly records: readonly MemberRecord[] };

export function encodeFrame(frame: MembershipFrame): Uint8Array {
  const w = new Writer();
  w.byte(VERSION);
  if (frame.kind === 'heartbeat') {
    w.byte(HEARTBEAT);
    w.uint(frame.digest[0]);
    w.uint(frame.digest[1]);
    w.uint(frame.lagMs);
  } else {
    w.byte(RECORDS);
    w.uint(frame.records.length);
    for (const r of frame.records) writeMemberRecord(w, r);
  }
  return w.finish();
}

export function decodeFrame(bytes: Uint8Array, maxBytes: number, maxRecords: number): MembershipFrame {
  const r = new Reader(bytes, {
    maxMessageBytes: maxBytes,
    maxDepth: 16,
    maxEntries: maxRecords,
    maxStringBytes: 64 * 1024,
  });
  const version = r.byte('version');
  if (version !== VERSION) throw new DecodeError('version', `membership frame version ${version}`);
  const kind = r.byte('kind');
  let frame: MembershipFrame;
  if (kind === HEARTBEAT) {
    frame = { kind: 'heartbeat', digest: [r.uint('digest'), r.uint('digest')], lagMs: r.uint('lagMs') };
  } else if (kind === RECORDS) {
    const n = r.count('records', 4);
    const records: MemberRecord[] = [];
    for (let i = 0; i < n; i++) records.push(readMemberRecord(r, MAX_LINKS));
    frame = { kind: 'records', records };
  } else {
    throw new DecodeError('kind', `membership frame kind ${kind}`);
  }
  r.end('membership frame');
  return frame;
}
