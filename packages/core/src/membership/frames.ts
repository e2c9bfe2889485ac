import { DecodeError } from '../codec/decode-error.ts';
import { Reader } from '../codec/reader.ts';
import { Writer } from '../codec/writer.ts';
import { readMemberRecord, writeMemberRecord, type MemberRecord, type VersionHash } from './member-record.ts';

const VERSION = 3;
const HEARTBEAT = 1;
const RECORDS = 2;
const SUMMARY = 3;
const ANSWER = 4;
/** Most links one record may list: far above any node's degree. */
const MAX_LINKS = 1024;

/**
 * What neighbours send each other: a heartbeat carrying the sender's table digest (its liveness
 * signal and anti-entropy trigger in one) and how late its own ticks have run lately (its local
 * health, see local-health.ts); a summary of the sender's table, the version hash of each record
 * it holds, after a digest mismatch or on a new link; member records passed on (rumours); or the
 * answer to a summary: the records whose versions it lacks, possibly none. An answer is marked as
 * one so that a rumour arriving meanwhile does not stand in for an answer that was lost.
 */
export type MembershipFrame =
  | { readonly kind: 'heartbeat'; readonly digest: VersionHash; readonly lagMs: number }
  | { readonly kind: 'summary'; readonly versions: readonly VersionHash[] }
  | { readonly kind: 'records' | 'answer'; readonly records: readonly MemberRecord[] };

export function encodeFrame(frame: MembershipFrame): Uint8Array {
  const w = new Writer();
  w.byte(VERSION);
  if (frame.kind === 'heartbeat') {
    w.byte(HEARTBEAT);
    w.uint(frame.digest[0]);
    w.uint(frame.digest[1]);
    w.uint(frame.lagMs);
  } else if (frame.kind === 'summary') {
    w.byte(SUMMARY);
    w.uint(frame.versions.length);
    for (const [a, b] of frame.versions) {
      w.uint(a);
      w.uint(b);
    }
  } else {
    w.byte(frame.kind === 'answer' ? ANSWER : RECORDS);
    w.uint(frame.records.length);
    for (const r of frame.records) writeMemberRecord(w, r);
  }
  return w.finish();
}

/** Limits on one frame: its bytes, the records it may carry, and the versions a summary may list. */
export interface FrameLimits {
  readonly maxBytes: number;
  readonly maxRecords: number;
  readonly maxVersions: number;
}

function half(r: Reader): number {
  const n = r.uint('version');
  if (n > 0xffffffff) throw new DecodeError('invalid', `version hash half ${n} exceeds 32 bits`);
  return n;
}

export function decodeFrame(bytes: Uint8Array, limits: FrameLimits): MembershipFrame {
  const r = new Reader(bytes, {
    maxMessageBytes: limits.maxBytes,
    maxDepth: 16,
    maxEntries: Math.max(limits.maxRecords, limits.maxVersions),
    maxStringBytes: 64 * 1024,
  });
  const version = r.byte('version');
  if (version !== VERSION) throw new DecodeError('version', `membership frame version ${version}`);
  const kind = r.byte('kind');
  let frame: MembershipFrame;
  if (kind === HEARTBEAT) {
    frame = { kind: 'heartbeat', digest: [r.uint('digest'), r.uint('digest')], lagMs: r.uint('lagMs') };
  } else if (kind === SUMMARY) {
    const n = r.count('versions', 2);
    if (n > limits.maxVersions)
      throw new DecodeError('too_large', `${n} versions exceed ${limits.maxVersions}`);
    const versions: VersionHash[] = [];
    for (let i = 0; i < n; i++) versions.push([half(r), half(r)]);
    frame = { kind: 'summary', versions };
  } else if (kind === RECORDS || kind === ANSWER) {
    const n = r.count('records', 4);
    if (n > limits.maxRecords) throw new DecodeError('too_large', `${n} records exceed ${limits.maxRecords}`);
    const records: MemberRecord[] = [];
    for (let i = 0; i < n; i++) records.push(readMemberRecord(r, MAX_LINKS));
    frame = { kind: kind === ANSWER ? 'answer' : 'records', records };
  } else {
    throw new DecodeError('kind', `membership frame kind ${kind}`);
  }
  r.end('membership frame');
  return frame;
}
