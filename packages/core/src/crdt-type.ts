import type { Reader } from './codec/reader.ts';
import type { Writer } from './codec/writer.ts';

/**
 * What a Document needs to know about a CRDT type. States and deltas share one
 * representation (delta-state CRDTs): a delta is a state, and `join` merges
 * either. Mutators live on each type's handle; they change the state in place
 * and hand the delta they produced to the Document's current transaction.
 */
export interface CrdtType<S> {
  /** Stable name, written into snapshots and events ("orset", "lww", ...). */
  readonly name: string;
  /** The bottom state. */
  empty(): S;
  /**
   * Joins `delta` into `state` in place. Returns true when `state` changed.
   * Must be commutative, associative and idempotent as a join on states.
   */
  join(state: S, delta: S): boolean;
  /**
   * For types whose join can fail on bytes that decode (a Yjs update that does not fit the
   * state): tries `delta` against `state` without changing what `state` shows, throwing
   * DecodeError when it cannot be joined. Once it passed, joining that delta cannot fail.
   */
  check?(state: S, delta: S): void;
  /** Forgets what `check` prepared, when the message holding the delta is refused. */
  release?(state: S): void;
  /**
   * The latest wall time (ms) `delta` acts on, for types where a time far ahead does lasting
   * harm (a retention mark); a receiver refuses it beyond its clock's drift cap.
   */
  wallOf?(delta: S): number;
  /** Deterministic encoding: equal states encode to equal bytes. */
  encode(w: Writer, state: S): void;
  /** Bounded decoding; throws only DecodeError. */
  decode(r: Reader): S;
}
