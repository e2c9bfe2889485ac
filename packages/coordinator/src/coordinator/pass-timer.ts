import type { Clock } from '../clock.ts';
import type { Phase } from './phase.ts';

/** When scheduling passes run: one timer, passes at least `tickMs` apart, so bursts of changes share one. */
export interface PassTimer {
  /** Runs a pass in `inMs` at the earliest (sooner than one already planned, or not at all). */
  readonly schedule: (inMs: number) => void;
  /** Cancels the planned pass (stopped). */
  readonly stop: () => void;
}

/**
 * A pass gets its start time and the time it was planned for (it may run late), and returns when
 * the next one is due, in ms from `now`, or null when nothing needs one.
 */
export type Pass = (now: number, planned: number) => number | null;

export function createPassTimer(clock: Clock, tickMs: number, phase: Readonly<Phase>, pass: Pass): PassTimer {
  let cancelTick: (() => void) | null = null;
  let tickAt = Infinity;
  let lastTick = -Infinity;

  function schedule(inMs: number): void {
    if (phase.stopped) return;
    const now = clock.now();
    const at = Math.max(now + Math.max(0, inMs), lastTick + tickMs);
    if (at >= tickAt) return;
    cancelTick?.();
    tickAt = at;
    cancelTick = clock.setTimer(tick, at - now);
  }

  function tick(): void {
    cancelTick = null;
    const planned = tickAt;
    tickAt = Infinity;
    if (phase.stopped) return;
    const now = clock.now();
    lastTick = now;
    const next = pass(now, planned);
    if (next !== null) schedule(next);
  }

  return { schedule, stop: () => cancelTick?.() };
}
