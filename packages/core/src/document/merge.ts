import { CausalContext } from '../causal/causal-context.ts';
import { MAX_SEQ } from '../causal/dot.ts';
import { DecodeError } from '../codec/decode-error.ts';
import { defaultDecodeLimits, type DecodeLimits } from '../codec/limits.ts';
import { Reader } from '../codec/reader.ts';
import type { ReplicaId } from '../replica.ts';
import { readMemberType } from './member-type.ts';
import { decodeUpdate, SINGLE_EVENT_PREFIX, updateFromRecords } from './update.ts';

/** The replicas whose events an update message carries (for checking them against a gossip signer). Throws only DecodeError. */
export function updateOrigins(
  update: Uint8Array,
  limits: DecodeLimits = defaultDecodeLimits,
): Set<ReplicaId> {
  const origins = new Set<ReplicaId>();
  for (const e of decodeUpdate(update, readMemberType, undefined, limits).events) origins.add(e.replica);
  return origins;
}

const isSingleEvent = (update: Uint8Array): boolean =>
  update.byteLength > SINGLE_EVENT_PREFIX.byteLength && SINGLE_EVENT_PREFIX.every((b, i) => update[i] === b);

/**
 * Batches update messages into one, each event once, in first-seen order.
 * A one-event message (what a local transaction produces) is only framed: its
 * record is copied without decoding its deltas, which the receiver's `apply`
 * validates. Throws only DecodeError.
 */
export function mergeUpdates(
  updates: readonly Uint8Array[],
  limits: DecodeLimits = defaultDecodeLimits,
): Uint8Array {
  const seen = new CausalContext();
  const records: Uint8Array[] = [];
  const keep = (replica: ReplicaId, seq: number, record: Uint8Array): void => {
    if (seen.add(replica, seq)) records.push(record);
  };
  for (const update of updates) {
    if (isSingleEvent(update)) {
      const record = update.subarray(SINGLE_EVENT_PREFIX.byteLength);
      const r = new Reader(record, limits);
      const replica = r.replica('event replica');
      const seq = r.uint('event seq');
      if (seq === 0 || seq > MAX_SEQ) throw new DecodeError('invalid', `event seq ${seq} out of range`);
      keep(replica, seq, record);
      continue;
    }
    const { events, records: own } = decodeUpdate(update, readMemberType, undefined, limits);
    events.forEach((e, i) => keep(e.replica, e.seq, own[i] as Uint8Array));
  }
  return updateFromRecords(records);
}
