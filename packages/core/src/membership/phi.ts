/**
 * Phi-accrual failure detector (Hayashibara et al., 2004), as in Akka and Cassandra:
 * suspicion grows continuously with the time since the last heartbeat, scaled by the
 * observed inter-arrival distribution, instead of a fixed timeout.
 */
export interface PhiOptions {
  /** Phi above which a peer counts as dead. 8 ≈ one false positive in 10^8 under a normal model. */
  readonly threshold: number;
  /** Inter-arrival samples kept. */
  readonly windowSize: number;
  /** Lower bound on the standard deviation, so very regular heartbeats do not make phi jumpy. */
  readonly minStdDevMs: number;
  /** Extra pause tolerated on top of the mean (GC, event-loop stalls). */
  readonly acceptablePauseMs: number;
  /** Interval assumed before two heartbeats have been seen. */
  readonly firstIntervalMs: number;
}

export const defaultPhiOptions: PhiOptions = {
  threshold: 8,
  windowSize: 100,
  minStdDevMs: 100,
  acceptablePauseMs: 300,
  firstIntervalMs: 500,
};

export interface PhiDetector {
  /** A heartbeat: its interval since the previous one joins the statistics. */
  heartbeat(peer: string, at: number): void;
  /**
   * Anything else from `peer`: silence is measured from it, but it is no sample. Frames sent on
   * other occasions (records right after a link comes up) would make the intervals look erratic
   * and the detector slow for the next `windowSize` heartbeats.
   */
  heard(peer: string, at: number): void;
  phi(peer: string, at: number): number;
  /** True when the peer has been heard from and its phi is under the threshold. */
  isAlive(peer: string, at: number): boolean;
  forget(peer: string): void;
  /** Whether any heartbeat of `peer` has been seen (and not forgotten). */
  knows(peer: string): boolean;
  /** When `peer` was last heard from (undefined: never, or forgotten). */
  lastHeard(peer: string): number | undefined;
  peers(): Iterable<string>;
}

interface History {
  /** The last heartbeat, or anything else heard since. */
  last: number;
  /** The last heartbeat; meaningless while `beats` is 0. */
  lastBeat: number;
  /** Heartbeats so far, up to 2: the interval after the first one is no sample. */
  beats: number;
  intervals: number[];
  next: number;
  sum: number;
  sumSquares: number;
}

export function createPhiDetector(options: Partial<PhiOptions> = {}): PhiDetector {
  const o = { ...defaultPhiOptions, ...options };
  const histories = new Map<string, History>();

  function record(h: History, interval: number): void {
    if (h.intervals.length < o.windowSize) h.intervals.push(interval);
    else {
      const old = h.intervals[h.next]!;
      h.sum -= old;
      h.sumSquares -= old * old;
      h.intervals[h.next] = interval;
      h.next = (h.next + 1) % o.windowSize;
    }
    h.sum += interval;
    h.sumSquares += interval * interval;
  }

  function phi(peer: string, at: number): number {
    const h = histories.get(peer);
    if (h === undefined) return Infinity;
    const n = h.intervals.length;
    const mean = n === 0 ? o.firstIntervalMs : h.sum / n;
    const variance = n === 0 ? (o.firstIntervalMs / 4) ** 2 : Math.max(0, h.sumSquares / n - mean * mean);
    const std = Math.max(o.minStdDevMs, Math.sqrt(variance));
    const elapsed = Math.max(0, at - h.last);
    // Logistic approximation of the normal CDF tail, as used by Akka.
    const y = (elapsed - (mean + o.acceptablePauseMs)) / std;
    const e = Math.exp(-y * (1.5976 + 0.070566 * y * y));
    const tail = elapsed > mean + o.acceptablePauseMs ? e / (1 + e) : 1 - 1 / (1 + e);
    return tail <= 0 ? Infinity : -Math.log10(tail);
  }

  /** `peer`'s history, begun at `at` if there is none. */
  function historyOf(peer: string, at: number): History {
    let h = histories.get(peer);
    if (h === undefined) {
      h = { last: at, lastBeat: at, beats: 0, intervals: [], next: 0, sum: 0, sumSquares: 0 };
      histories.set(peer, h);
    }
    return h;
  }

  return {
    heartbeat(peer, at) {
      const h = historyOf(peer, at);
      // A link's first heartbeat goes as it comes up, the next at the sender's own tick: the
      // interval between them is a phase, not the rhythm.
      if (h.beats >= 2 && at > h.lastBeat) record(h, at - h.lastBeat);
      h.lastBeat = h.beats === 0 ? at : Math.max(h.lastBeat, at);
      h.beats = Math.min(2, h.beats + 1);
      h.last = Math.max(h.last, at);
    },
    heard(peer, at) {
      const h = historyOf(peer, at);
      h.last = Math.max(h.last, at);
    },
    phi,
    isAlive: (peer, at) => phi(peer, at) < o.threshold,
    forget: (peer) => void histories.delete(peer),
    knows: (peer) => histories.has(peer),
    lastHeard: (peer) => histories.get(peer)?.last,
    peers: () => histories.keys(),
  };
}
