import { DecodeError } from '../codec/decode-error.ts';
import type { Reader } from '../codec/reader.ts';
import type { Writer } from '../codec/writer.ts';
import { compareTimestamps, readTimestamp, writeTimestamp, type Timestamp } from '../clock/timestamp.ts';
import type { CrdtType } from '../crdt-type.ts';
import { checkAmount, checkRoom, checkString } from './check.ts';
import { InvalidArgumentError } from './errors.ts';
import { Handle } from './handle.ts';

/** One sample; (series, ts) identifies it, and ts names the replica that appended it. */
export interface Point {
  readonly ts: Timestamp;
  readonly value: number;
}

/**
 * Time series state: every replica's appended points, per series sorted by
 * timestamp (wall, logical, replica), and a retention mark. The join is the
 * union of points with wall ≥ the larger mark; points below it are dropped.
 */
export interface TimeSeriesState {
  mark: number;
  readonly series: Map<string, Point[]>;
}

export interface Bucket {
  /** Bucket start, ms (a multiple of the bucket width). */
  readonly start: number;
  readonly count: number;
  readonly sum: number;
  readonly min: number;
  readonly max: number;
}

function retainFrom(points: Point[], mark: number): number {
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((points[mid] as Point).ts.wall < mark) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first point not before `ts`. */
function lowerBound(points: readonly Point[], ts: Timestamp): number {
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareTimestamps((points[mid] as Point).ts, ts) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function applyMark(state: TimeSeriesState): void {
  for (const [name, points] of state.series) {
    const cut = retainFrom(points, state.mark);
    if (cut === points.length) state.series.delete(name);
    else if (cut > 0) points.splice(0, cut);
  }
}

function insertPoint(points: Point[], p: Point): boolean {
  const i = lowerBound(points, p.ts);
  const at = points[i];
  if (at !== undefined && compareTimestamps(at.ts, p.ts) === 0) return false;
  points.splice(i, 0, p);
  return true;
}

export const timeSeriesType: CrdtType<TimeSeriesState> = {
  name: 'timeseries',
  empty: () => ({ mark: 0, series: new Map() }),
  // A mark deletes what lies below it on every replica, for good: receivers refuse one
  // ahead of their clock's drift cap rather than clamp it, since a clamp would depend on
  // each receiver's clock and leave replicas with different marks. Refused, the event
  // comes again by anti-entropy and merges once the receiver's clock has caught up.
  wallOf: (delta) => delta.mark,
  join(state, delta) {
    let changed = false;
    if (delta.mark > state.mark) {
      state.mark = delta.mark;
      applyMark(state);
      changed = true;
    }
    for (const [name, incoming] of delta.series) {
      let points = state.series.get(name);
      for (const p of incoming) {
        if (p.ts.wall < state.mark) continue;
        if (points === undefined) {
          points = [];
          state.series.set(name, points);
        }
        if (insertPoint(points, p)) changed = true;
      }
    }
    return changed;
  },
  encode(w: Writer, s) {
    w.uint(s.mark);
    const names = [...s.series.keys()].sort();
    w.uint(names.length);
    for (const name of names) {
      const points = s.series.get(name) as Point[];
      w.string(name);
      w.uint(points.length);
      let wall = s.mark;
      for (const p of points) {
        // Walls ascend: each is written as the gap from the previous one.
        writeTimestamp(w, { ...p.ts, wall: p.ts.wall - wall });
        wall = p.ts.wall;
        w.float(p.value);
      }
    }
  },
  decode(r: Reader) {
    const mark = r.uint('time series mark');
    const series = new Map<string, Point[]>();
    const n = r.count('time series names', 2);
    let lastName: string | undefined;
    for (let i = 0; i < n; i++) {
      const name = r.string('time series name');
      if (lastName !== undefined && name <= lastName)
        throw new DecodeError('invalid', 'time series: names not sorted');
      lastName = name;
      const k = r.count('time series points', 11);
      if (k === 0) throw new DecodeError('invalid', 'time series: empty series');
      const points: Point[] = [];
      let wall = mark;
      for (let j = 0; j < k; j++) {
        const gap = readTimestamp(r, 'time series point');
        wall += gap.wall;
        if (!Number.isSafeInteger(wall)) throw new DecodeError('invalid', 'time series: wall overflow');
        const ts = { wall, logical: gap.logical, replica: gap.replica };
        const value = r.float('time series value');
        if (!Number.isFinite(value)) throw new DecodeError('invalid', 'time series: value not finite');
        const prev = points[points.length - 1];
        if (prev !== undefined && compareTimestamps(prev.ts, ts) >= 0) {
          throw new DecodeError('invalid', 'time series: points not sorted');
        }
        points.push({ ts, value });
      }
      series.set(name, points);
    }
    return { mark, series };
  },
};

/** Folds two rollups of the same bucket width into one (buckets merge by count/sum add, min/max). */
export function mergeRollups(a: readonly Bucket[], b: readonly Bucket[]): Bucket[] {
  const byStart = new Map<number, Bucket>();
  for (const x of [...a, ...b]) {
    const y = byStart.get(x.start);
    byStart.set(
      x.start,
      y === undefined
        ? x
        : {
            start: x.start,
            count: x.count + y.count,
            sum: x.sum + y.sum,
            min: Math.min(x.min, y.min),
            max: Math.max(x.max, y.max),
          },
    );
  }
  return [...byStart.values()].sort((x, y) => x.start - y.start);
}

/** The delta appending a point, or undefined when it is older than the retention mark. */
function timeSeriesAppend(
  state: TimeSeriesState,
  series: string,
  ts: Timestamp,
  value: number,
): TimeSeriesState | undefined {
  if (ts.wall < state.mark) return undefined;
  return { mark: 0, series: new Map([[series, [{ ts, value }]]]) };
}

/**
 * Mergeable time series: per-series logs of (HLC timestamp, replica, value)
 * from every replica, range queries, count/sum/min/max rollups, and a
 * retention mark (the largest wins) below which points are dropped.
 */
export class TimeSeries extends Handle<TimeSeriesState> {
  /**
   * Appends `value` to `series` at the clock's current reading, or at wall
   * time `at` (ms) when given. A point older than the retention mark is dropped.
   */
  append(series: string, value: number, at?: number): void {
    checkString(series, 'TimeSeries.append series', this.sink.limits);
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new InvalidArgumentError('TimeSeries.append: value must be a finite number');
    }
    if (at !== undefined) checkAmount(at, 'TimeSeries.append at');
    const points = this.state.series.get(series);
    if (points === undefined) checkRoom(this.state.series.size, 'TimeSeries.append', this.sink.limits);
    else checkRoom(points.length, 'TimeSeries.append points', this.sink.limits);
    const now = at === undefined ? this.sink.hlc.now() : undefined;
    const wall = at ?? (now as Timestamp).wall;
    // (series, wall, logical, replica) must name one point: step past this replica's points at that wall.
    let logical = now?.logical ?? 0;
    if (points !== undefined) {
      for (let i = lowerBound(points, { wall, logical: 0, replica: '' }); i < points.length; i++) {
        const p = points[i] as Point;
        if (p.ts.wall !== wall) break;
        if (p.ts.replica === this.sink.replica) logical = Math.max(logical, p.ts.logical + 1);
      }
    }
    const ts: Timestamp = { wall, logical, replica: this.sink.replica };
    const delta = timeSeriesAppend(this.state, series, ts, value);
    if (delta !== undefined) this.sink.emit(delta);
  }

  /** Points of `series` with `from ≤ wall < to`, in timestamp order. */
  range(series: string, from: number, to: number): Point[] {
    const points = this.state.series.get(series);
    if (points === undefined) return [];
    const out: Point[] = [];
    for (let i = lowerBound(points, { wall: from, logical: 0, replica: '' }); i < points.length; i++) {
      const p = points[i] as Point;
      if (p.ts.wall >= to) break;
      out.push(p);
    }
    return out;
  }

  /** Non-empty buckets of width `bucketMs` over `from ≤ wall < to`. */
  rollup(series: string, bucketMs: number, from: number, to: number): Bucket[] {
    if (!Number.isSafeInteger(bucketMs) || bucketMs <= 0) {
      throw new InvalidArgumentError('TimeSeries.rollup: bucketMs must be a positive integer');
    }
    const out: Bucket[] = [];
    let cur: { start: number; count: number; sum: number; min: number; max: number } | undefined;
    for (const p of this.range(series, from, to)) {
      const start = Math.floor(p.ts.wall / bucketMs) * bucketMs;
      if (cur === undefined || cur.start !== start) {
        if (cur !== undefined) out.push(cur);
        cur = { start, count: 0, sum: 0, min: Infinity, max: -Infinity };
      }
      cur.count++;
      cur.sum += p.value;
      cur.min = Math.min(cur.min, p.value);
      cur.max = Math.max(cur.max, p.value);
    }
    if (cur !== undefined) out.push(cur);
    return out;
  }

  /** Series names with at least one point, sorted. */
  series(): string[] {
    return [...this.state.series.keys()].sort();
  }

  /**
   * Drops points before wall time `markMs` everywhere; the largest mark any replica set wins.
   * A mark may not lie ahead of this replica's HLC (InvalidArgumentError, nothing changed):
   * peers refuse marks beyond their clock's drift cap.
   */
  retain(markMs: number): void {
    checkAmount(markMs, 'TimeSeries.retain');
    if (markMs <= this.state.mark) return;
    // Read the clock only for a mark past its last reading: most marks lie well behind it.
    const now = markMs > this.sink.hlc.peek().wall ? this.sink.hlc.wallNow() : markMs;
    if (markMs > now) {
      throw new InvalidArgumentError(`TimeSeries.retain: mark ${markMs} is ahead of the clock (${now})`);
    }
    this.sink.emit({ mark: markMs, series: new Map() });
  }

  get mark(): number {
    return this.state.mark;
  }
}
