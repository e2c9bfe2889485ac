import type { HLC } from '../clock/hlc.ts';
import type { BoundedCounter } from '../types/bounded-counter.ts';
import type { DecodeLimits } from '../codec/limits.ts';
import type { Observable } from '../events/emitter.ts';
import type { Digest } from './digest.ts';
import type { Dot } from '../causal/dot.ts';
import type { EventLogLimits } from './event-log.ts';
import type { GCounter, PNCounter } from '../types/counters.ts';
import type { Graph } from '../types/graph.ts';
import type { HandleOf, Spec, TypeSpec } from '../types/spec.ts';
import type { LWWRegister } from '../types/lww-register.ts';
import type { MVRegister } from '../types/mvregister.ts';
import type { ORMap } from '../types/ormap.ts';
import type { ORSet } from '../types/orset.ts';
import type { ReplicaId } from '../replica.ts';
import type { TimeSeries } from '../types/time-series.ts';
import type { Value } from '../codec/value.ts';
import type { YDoc } from '../types/ydoc.ts';

/* What a Document offers its users: its options, its events and its calls (document.ts implements it). */

export interface DocumentOptions {
  /** This replica's id (on the mesh: the node's peer id). */
  readonly replica: ReplicaId;
  /** The document's name (on the mesh: its topic). */
  readonly name: string;
  /** Physical time in ms for the HLC; inject virtual time in simulations. Default `Date.now`. */
  readonly clock?: () => number;
  /** How far a remote timestamp may run ahead of local time before the HLC ignores it. Default 60 s. */
  readonly maxDriftMs?: number;
  /** Bounds of the delta log. */
  readonly log?: Partial<EventLogLimits>;
  /** Bounds applied when decoding messages and to every local write. Default `defaultDecodeLimits`. */
  readonly limits?: DecodeLimits;
  /**
   * Local events get seqs above this one (and above every event of this replica merged so
   * far). For a replica that restarted without its state: pass the highest seq of its own
   * that its peers' digests name (`digest.nextSeq(replica) - 1`), so it never reuses one.
   * A Document restored from its own snapshot or log needs nothing: it continues after them.
   */
  readonly startSeq?: number;
}

/** Reported to 'change' listeners after every local transaction and every apply that merged something. */
export interface ChangeEvent {
  /**
   * The new events as one update message, ready to gossip or persist; for a
   * completed snapshot, that snapshot as a single chunk message. Read-only.
   */
  readonly update: Uint8Array;
  readonly local: boolean;
  /** The `origin` given to `transact` or `apply`. */
  readonly origin: unknown;
  /** Names of the members whose state changed. */
  readonly members: string[];
  /**
   * For ORMap members among `members`: the keys the new events wrote or removed, so a
   * listener need not rescan the map. Empty for a snapshot, where any key may have changed.
   */
  readonly keys: ReadonlyMap<string, ReadonlySet<string>>;
  /** Dots of the new events (empty for a snapshot). */
  readonly dots: Dot[];
  /** True when a snapshot was merged rather than events. */
  readonly snapshot: boolean;
}

export type ChangeListener = (event: ChangeEvent) => void;

/**
 * A Document's events. A 'change' listener that throws ends that notification: later listeners
 * miss the change and the error reaches the mutating call or `apply` (the change itself is merged).
 * Persistence relies on it to keep an undurable event from being gossiped. The next change reaches
 * every listener again.
 */
export interface DocumentEvents {
  change: ChangeListener;
}

export interface ApplyOptions {
  /**
   * Accept only an update whose events all come from this replica (a signed gossip message's
   * signer); anything else throws a DecodeError with code `origin`, changing nothing.
   */
  readonly onlyFrom?: ReplicaId;
}

export interface ApplyResult {
  /** Events new to this replica. */
  readonly events: number;
  /** Events already known. */
  readonly duplicates: number;
  /** Members whose state changed. */
  readonly members: string[];
  /** For snapshot chunks: whether this chunk completed its snapshot (and it was merged). */
  readonly snapshotComplete?: boolean;
}

export type ChangesSince =
  { readonly covered: true; readonly update: Uint8Array } | { readonly covered: false };

export interface SnapshotOptions {
  /** Largest chunk message, in bytes. Default 1 MiB. */
  readonly maxChunkBytes?: number;
}

/**
 * A named container of CRDT members, synced by exchanging messages. Local
 * transactions become events; remote messages are validated in full before
 * anything merges. Transport-agnostic: no I/O.
 */
export interface Document extends Observable<DocumentEvents> {
  readonly replica: ReplicaId;
  readonly name: string;
  readonly hlc: HLC;
  /**
   * Gets or creates the member `name` of type `spec` and returns its handle.
   * Throws MemberTypeError when `name` already holds another type.
   */
  member<S extends TypeSpec>(name: string, spec: S): HandleOf<S>;
  orset<V extends Value = Value>(name: string): ORSet<V>;
  lww<V extends Value = Value>(name: string): LWWRegister<V>;
  mvregister<V extends Value = Value>(name: string): MVRegister<V>;
  gcounter(name: string): GCounter;
  pncounter(name: string): PNCounter;
  boundedCounter(name: string): BoundedCounter;
  /** A map whose values are members of type `value`, e.g. `doc.ormap('tasks', lww())`. */
  ormap<H>(name: string, value: Spec<H>): ORMap<H>;
  graph(name: string): Graph;
  timeSeries(name: string): TimeSeries;
  ydoc(name: string): YDoc;
  /** Names of all members, sorted. */
  memberNames(): string[];
  /**
   * Runs `fn` as one transaction: all its mutations form one event. Nested
   * calls join the outer transaction. If `fn` throws, the mutations it made
   * before throwing are kept and published, then the error propagates.
   */
  transact<T>(fn: () => T, origin?: unknown): T;
  /** The causal context of the events merged so far. */
  digest(): Digest;
  /**
   * `encodeDigest(digest())`, kept until the Document changes: an anti-entropy round sends one
   * per peer, and a digest grows with the replicas the Document has heard of. Do not modify it.
   */
  encodedDigest(): Uint8Array;
  /**
   * The events a peer with `digest` lacks, as one update message, or `covered: false` when the log
   * no longer holds them all. The digest may come encoded (`encodeDigest`): one equal to
   * `encodedDigest()`, a peer in sync, is answered without decoding it. Throws DecodeError on
   * bad bytes.
   */
  changesSince(digest: Digest | Uint8Array): ChangesSince;
  /** The full state as chunk messages; apply them in any order, the state shows once all arrived. */
  snapshot(options?: SnapshotOptions): Uint8Array[];
  /** Merges an update or snapshot chunk message. Throws DecodeError, changing nothing, on bad bytes. */
  apply(bytes: Uint8Array, origin?: unknown, options?: ApplyOptions): ApplyResult;
  /**
   * Messages refused because an event's dot was known here with other content
   * (EquivocationError): a replica id written by two Documents. For a metric.
   */
  readonly equivocations: number;
}
