import { ClockDriftError, type HLC } from '../clock/hlc.ts';
import { DecodeError } from '../codec/decode-error.ts';
import type { CrdtType } from '../crdt-type.ts';

/** Refuses a delta acting on a wall time past `horizon` (the receiver's clock plus its drift cap). */
export function checkWall(crdt: CrdtType<unknown>, delta: unknown, horizon: number, member: string): void {
  const wall = crdt.wallOf?.(delta);
  if (wall !== undefined && wall > horizon) {
    throw new DecodeError(
      'clock',
      `member "${member}": wall time ${wall} is more than the drift cap ahead of local time`,
    );
  }
}

/** Moves the HLC past a merged event's time, unless that time is too far ahead to follow. */
export function observeClock(hlc: HLC, wall: number, logical: number): void {
  try {
    hlc.receive({ wall, logical, replica: hlc.replica });
  } catch (error) {
    // A clock far ahead is not followed; the event itself is still valid and merges.
    if (!(error instanceof ClockDriftError)) throw error;
  }
}
