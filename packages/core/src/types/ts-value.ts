import type { Reader } from '../codec/reader.ts';
import { readValue, writeValue, type Value } from '../codec/value.ts';
import type { Writer } from '../codec/writer.ts';
import type { ValueCodec } from '../causal/store-kind.ts';
import { compareTimestamps, readTimestamp, writeTimestamp, type Timestamp } from '../clock/timestamp.ts';

/** A value stamped with the HLC reading of the write that made it. */
export interface Stamped {
  readonly ts: Timestamp;
  readonly value: Value;
}

export const stampedCodec: ValueCodec<Stamped> = {
  write(w: Writer, v: Stamped) {
    writeTimestamp(w, v.ts);
    writeValue(w, v.value);
  },
  read(r: Reader): Stamped {
    const ts = readTimestamp(r);
    return { ts, value: readValue(r) };
  },
};

export const valueCodec: ValueCodec<Value> = { write: writeValue, read: readValue };

export const intCodec: ValueCodec<number> = {
  write: (w, v) => w.int(v),
  read: (r) => r.int('counter contribution'),
};

/** The latest of several stamped values (ties impossible: a timestamp names its replica). */
export function latest(entries: readonly { readonly value: Stamped }[]): Stamped | undefined {
  let best: Stamped | undefined;
  for (const e of entries)
    if (best === undefined || compareTimestamps(e.value.ts, best.ts) > 0) best = e.value;
  return best;
}

/** A timestamp from `sink`'s clock that is later than `after`, so a new write always beats what it saw. */
export function laterThan(now: Timestamp, after: Timestamp | undefined): Timestamp {
  if (after === undefined || compareTimestamps(now, after) > 0) return now;
  return { wall: after.wall, logical: after.logical + 1, replica: now.replica };
}
