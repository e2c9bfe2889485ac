import type { DecodeLimits } from '../codec/limits.ts';
import type { HLC } from '../clock/hlc.ts';
import type { ReplicaId } from '../replica.ts';

/**
 * Where a handle sends the deltas of its mutations. A handle's mutators compute
 * the delta (a small state of the same type) without touching the state and
 * pass it to `emit`, which may refuse it (by throwing, nothing changed) before
 * it joins it into the state: the Document refuses a delta that would take its
 * transaction's event past `maxMessageBytes`.
 */
export interface MutationSink<D> {
  /** The replica mutating; new dots and timestamps carry this id. */
  readonly replica: ReplicaId;
  /** The replica's clock, for LWW registers, time series and leases. */
  readonly hlc: HLC;
  /** The limits peers decode with: mutators refuse input beyond them before changing anything. Default `defaultDecodeLimits`. */
  readonly limits?: DecodeLimits;
  /**
   * Receives the delta of one mutation before the state includes it: throws to refuse it,
   * or joins it into the handle's state (with its type's join) and records it.
   */
  emit(delta: D): void;
}
