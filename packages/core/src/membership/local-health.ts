/**
 * How late this node's own heartbeat ticks run: the measure of its own health, as in Lifeguard
 * (Dadgar et al., 2018). A node whose event loop stalls reads its neighbours' heartbeats late
 * and sends its own late; neither says anything about the neighbours. The stall a tick reveals
 * is therefore discounted when this node judges its links, and announced in its heartbeats so
 * that its neighbours discount it when they judge theirs to it.
 */
export interface LocalHealth {
  /** A tick due at `due` ran at `now`. Returns how late it ran (ms, at least 0). */
  ticked(due: number, now: number): number;
  /** The longest lateness of the recent ticks, capped: what heartbeats announce. */
  lagMs(): number;
}

export interface LocalHealthOptions {
  /** Ticks remembered: a stall counts for this many ticks after it. */
  readonly windowTicks: number;
  /** Most lateness announced or allowed for, so a silent node is still found. */
  readonly maxLagMs: number;
}

export function createLocalHealth(o: LocalHealthOptions): LocalHealth {
  const recent: number[] = [];
  let next = 0;
  return {
    ticked(due, now) {
      const late = Math.max(0, Math.floor(now - due));
      if (recent.length < o.windowTicks) recent.push(late);
      else recent[next] = late;
      next = (next + 1) % o.windowTicks;
      return late;
    },
    lagMs: () =>
      Math.min(
        o.maxLagMs,
        recent.reduce((m, x) => Math.max(m, x), 0),
      ),
  };
}
