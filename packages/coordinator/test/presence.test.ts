import type { PresenceChannel } from '@meshwork/core';
import { describe, expect, it } from 'vitest';
import type { Liveness } from '../src/coordinator/liveness.ts';
import { startPresenceLink } from '../src/coordinator/presence.ts';
import { noPools } from '../src/resources.ts';
import { createScheduler } from '../../../test/sim/scheduler.ts';

/** A node's presence link on virtual time whose clock reads `start` at first. */
function heartbeats(start: number, heartbeatMs: number) {
  const sched = createScheduler();
  const clock = sched.nodeClock(start);
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
  /** Runs virtual time until the clock reads `to`. */
  const advance = (to: number): Promise<void> => sched.run(to - start);
  return { ran, advance, clock, sched, stop: () => link.stop() };
}

describe('presence heartbeat', () => {
  it('falls on multiples of heartbeatMs of the clock, where membership checks its links', async () => {
    const start = 1_700_000_000_037;
    const { ran, advance, stop } = heartbeats(start, 250);
    await advance(start + 2_000);
    const later = ran.slice(1);
    expect(later.length).toBeGreaterThanOrEqual(7);
    for (const { due } of later) expect(due % 250).toBe(0);
    // One per interval: the first comes at the first multiple after the start.
    expect(later[0]!.due).toBe(1_700_000_000_250);
    expect(later.slice(1).map((r, i) => r.due - later[i]!.due)).toEqual(later.slice(1).map(() => 250));
    stop();
  });

  it('stays on them after firing late, and tells liveness how late', async () => {
    const start = 1_700_000_000_000;
    const { ran, advance, clock, sched, stop } = heartbeats(start, 250);
    await advance(start + 1_000);
    const before = ran.length;
    // From here the node's event loop is blocked from 10 ms before each heartbeat is due until
    // 40 ms after: every heartbeat fires 40 ms late.
    for (let at = 1_250; at <= 3_000; at += 250) sched.at(at - 10, () => clock.stall(50));
    await advance(start + 3_000);
    const late = ran.slice(before);
    expect(late.length).toBeGreaterThan(0);
    for (const { due, now } of late) {
      expect(due % 250).toBe(0);
      expect(now - due).toBe(40);
    }
    stop();
  });
});
