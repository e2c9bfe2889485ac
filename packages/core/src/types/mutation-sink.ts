import type { DecodeLimits } from '../codec/limits.ts';
import type { HLC } from '../clock/hlc.ts';
import type { ReplicaId } from '../replica.ts';

/**
 * Where a handle sends the deltas of its mutations. A handle's mutators
 * change the member state in place and pass the delta (a small state of the
 * same type) to `emit`; the Document folds it into the current transaction.
 */
export interface MutationSink<D> {
  /** The replica mutating; new dots and timestamps carry this id. */
  readonly replica: ReplicaId;
  /** The replica's clock, for LWW registers, time series and leases. */
  readonly hlc: HLC;
  /** The limits peers decode with: mutators refuse input beyond them before changing anything. Default `defaultDecodeLimits`. */
  readonly limits?: DecodeLimits;
  /** Receives the delta of one mutation, after the state already includes it. */
  emit(delta: D): void;
}
