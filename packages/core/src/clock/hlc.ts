import { MeshworkError } from '../meshwork-error.ts';
import type { ReplicaId } from '../replica.ts';
import { compareTimestamps, MAX_LOGICAL, type Timestamp } from './timestamp.ts';

/** A remote timestamp ran further ahead of local physical time than the clock allows. */
export class ClockDriftError extends MeshworkError {
  override readonly name = 'ClockDriftError';
  readonly remote: Timestamp;
  readonly localWall: number;
  readonly maxDriftMs: number;

  constructor(remote: Timestamp, localWall: number, maxDriftMs: number) {
    super(
      'clock_drift',
      `timestamp from ${remote.replica} is ${remote.wall - localWall} ms ahead of local time (max ${maxDriftMs} ms)`,
    );
    this.remote = remote;
    this.localWall = localWall;
    this.maxDriftMs = maxDriftMs;
  }
}

export interface HLCOptions {
  /** Physical time in ms. Inject virtual time for simulations. Default `Date.now`. */
  readonly clock?: () => number;
  /** How far (ms) a received timestamp may run ahead of local physical time. Default 60 000. */
  readonly maxDriftMs?: number;
}

/**
 * Hybrid logical clock (Kulkarni et al. 2014): readings stay within drift of
 * physical time yet respect causality, since `receive` moves the clock past
 * every timestamp it has seen. Readings from one clock strictly increase.
 */
export class HLC {
  readonly replica: ReplicaId;
  readonly maxDriftMs: number;
  private readonly clock: () => number;
  private wall = 0;
  private logical = 0;

  constructor(replica: ReplicaId, options: HLCOptions = {}) {
    this.replica = replica;
    this.clock = options.clock ?? Date.now;
    this.maxDriftMs = options.maxDriftMs ?? 60_000;
  }

  /** A new reading, greater than every earlier reading and every timestamp received. */
  now(): Timestamp {
    const pt = this.physical();
    if (pt > this.wall) {
      this.wall = pt;
      this.logical = 0;
    } else {
      this.logical++;
    }
    this.carry();
    return { wall: this.wall, logical: this.logical, replica: this.replica };
  }

  /** A counter past {@link MAX_LOGICAL} moves the clock to the next millisecond: still later, and writable. */
  private carry(): void {
    if (this.logical <= MAX_LOGICAL) return;
    this.wall++;
    this.logical = 0;
  }

  /**
   * Moves the clock past `remote` and returns the reading for the receive
   * event. Throws {@link ClockDriftError}, leaving the clock unchanged, when
   * `remote` is more than `maxDriftMs` ahead of local physical time.
   */
  receive(remote: Timestamp): Timestamp {
    const pt = this.physical();
    if (remote.wall - pt > this.maxDriftMs) throw new ClockDriftError(remote, pt, this.maxDriftMs);
    const wall = Math.max(this.wall, remote.wall, pt);
    if (wall === this.wall && wall === remote.wall) {
      this.logical = Math.max(this.logical, remote.logical) + 1;
    } else if (wall === this.wall) {
      this.logical++;
    } else if (wall === remote.wall) {
      this.logical = remote.logical + 1;
    } else {
      this.logical = 0;
    }
    this.wall = wall;
    this.carry();
    return { wall: this.wall, logical: this.logical, replica: this.replica };
  }

  /** The wall time a reading taken now would have, without taking it. */
  wallNow(): number {
    return Math.max(this.wall, this.physical());
  }

  /** The latest wall time a remote timestamp may carry: local physical time plus `maxDriftMs`. */
  horizon(): number {
    return this.physical() + this.maxDriftMs;
  }

  /** The latest reading without advancing the clock. */
  peek(): Timestamp {
    return { wall: this.wall, logical: this.logical, replica: this.replica };
  }

  /** Orders timestamps: wall, then logical, then replica id. */
  static compare(a: Timestamp, b: Timestamp): number {
    return compareTimestamps(a, b);
  }

  private physical(): number {
    return Math.floor(this.clock());
  }
}
