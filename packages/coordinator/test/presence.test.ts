import type { PresenceChannel } from '@meshwork/core';
import { describe, expect, it } from 'vitest';
import type { Clock } from '../src/clock.ts';
import type { Liveness } from '../src/coordinator/liveness.ts';
import { startPresenceLink } from '../src/coordinator/presence.ts';
import { noPools } from '../src/resources.ts';

/** A clock whose timers fire when it is advanced, each `lateMs` after it was due. */
function manualClock(start: number) {
  let now = start;
  const timers: { at: number; fn: () => void }[] = [];
  const clock: Clock = {
    now: () => now,
    setTimer(fn, ms) {
      const timer = { at: now + ms, fn };
      timers.push(timer);
      return () => void timers.splice(timers.indexOf(timer), 1);
    },
  };
  const advance = (to: number, lateMs = 0): void => {
    for (;;) {
      timers.sort((a, b) => a.at - b.at);
      const next = timers[0];
      if (next === undefined || next.at > to) break;
      timers.shift();
      now = Math.max(now, next.at + lateMs);
      next.fn();
    }
    now = Math.max(now, to);
  };
  return { clock, advance };
}

function heartbeats(start: number, heartbeatMs: number) {
  const { clock, advance } = manualClock(start);
  const ran: { due: number; now: number }[] = [];
  const liveness = { ran: (due: number, now: number) => ran.push({ due, now }) } as unknown as Liveness;
  const presence = { publish: () => {}, on: () => () => {}, off: () => {} } as unknown as PresenceChannel;
  const link = startPresenceLink({
    presence,
    clock,
    heartbeatMs,
    phase: { caughtUp: true, stopping: false, stopped: false },
    liveness,
    pools: noPools,
    scheduler: { schedule: () => {} },
  });
  return { ran, advance, stop: () => link.stop() };
}

describe('presence heartbeat', () => {
  it('falls on multiples of heartbeatMs of the clock, where membership checks its links', () => {
    const start = 1_700_000_000_037;
    const { ran, advance, stop } = heartbeats(start, 250);
    advance(start + 2_000);
    const later = ran.slice(1);
    expect(later.length).toBeGreaterThanOrEqual(7);
    for (const { due } of later) expect(due % 250).toBe(0);
    // One per interval: the first comes at the first multiple after the start.
    expect(later[0]!.due).toBe(1_700_000_000_250);
    expect(later.slice(1).map((r, i) => r.due - later[i]!.due)).toEqual(later.slice(1).map(() => 250));
    stop();
  });

  it('stays on them after firing late, and tells liveness how late', () => {
    const start = 1_700_000_000_000;
    const { ran, advance, stop } = heartbeats(start, 250);
    advance(start + 1_000);
    const before = ran.length;
    advance(start + 3_000, 40);
    const late = ran.slice(before);
    expect(late.length).toBeGreaterThan(0);
    for (const { due, now } of late) {
      expect(due % 250).toBe(0);
      expect(now - due).toBe(40);
    }
    stop();
  });
});
