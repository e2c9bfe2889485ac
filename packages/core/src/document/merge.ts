import { CausalContext } from '../causal/causal-context.ts';
import { defaultDecodeLimits, type DecodeLimits } from '../codec/limits.ts';
import type { ReplicaId } from '../replica.ts';
import { readMemberType } from './member-type.ts';
import { decodeRecord, decodeUpdate, encodeUpdate, recordToUpdate, type DocEvent } from './update.ts';

/** One update message holding the given log records. */
export function updateFromRecords(
  records: readonly Uint8Array[],
  limits: DecodeLimits = defaultDecodeLimits,
): Uint8Array {
  if (records.length === 1) return recordToUpdate(records[0] as Uint8Array);
  return encodeUpdate(records.map((record) => decodeRecord(record, readMemberType, limits)));
}

/** The replicas whose events an update message carries (for checking them against a gossip signer). Throws only DecodeError. */
export function updateOrigins(
  update: Uint8Array,
  limits: DecodeLimits = defaultDecodeLimits,
): Set<ReplicaId> {
  const origins = new Set<ReplicaId>();
  for (const e of decodeUpdate(update, readMemberType, undefined, limits).events) origins.add(e.replica);
  return origins;
}

/**
 * Batches update messages into one, each event once, in first-seen order, with
 * replica ids and members interned across the batch. Throws only DecodeError.
 */
export function mergeUpdates(
  updates: readonly Uint8Array[],
  limits: DecodeLimits = defaultDecodeLimits,
): Uint8Array {
  const seen = new CausalContext();
  const events: DocEvent[] = [];
  for (const update of updates) {
    for (const e of decodeUpdate(update, readMemberType, undefined, limits).events) {
      if (seen.add(e.replica, e.seq)) events.push(e);
    }
  }
  return encodeUpdate(events);
}
