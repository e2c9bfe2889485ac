import type { Clock } from '@meshwork/coordinator';

/**
 * Virtual time: timers are events in a heap, run in (time, insertion) order. Nothing
 * depends on the wall clock, so a run is a pure function of its seed.
 */
export interface VirtualScheduler {
  now(): number;
  at(time: number, fn: () => void): () => void;
  /**
   * Runs events until virtual time `until` or until `stop()` returns true (checked after each
   * event). Promise continuations queued by an event run before the next event, at its time.
   */
  run(until: number, stop?: () => boolean): Promise<void>;
  /** A clock for one node: skewed `now`, and timers that die with the node (`crash`). */
  nodeClock(skewMs: number): NodeClock;
  readonly executed: number;
}

/**
 * One node's clock. `stall` freezes the node as a blocked event loop does: nothing of it runs
 * for `ms`, then the timers that came due meanwhile fire, in their order, and only after them
 * what `whenAwake` queued (the network's deliveries), as Node runs expired timers before it
 * reads its sockets.
 */
export interface NodeClock extends Clock {
  crash(): void;
  stall(ms: number): void;
  /** Runs `fn` now, or once the node wakes from a stall, after its timers. */
  whenAwake(fn: () => void): void;
}

interface Event {
  time: number;
  seq: number;
  fn: (() => void) | null;
}

export function createScheduler(): VirtualScheduler {
  const heap: Event[] = [];
  let now = 0;
  let seq = 0;
  let executed = 0;

  const less = (x: Event, y: Event): boolean => x.time < y.time || (x.time === y.time && x.seq < y.seq);
  const push = (e: Event): void => {
    heap.push(e);
    let i = heap.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(heap[i]!, heap[p]!)) break;
      [heap[i], heap[p]] = [heap[p]!, heap[i]!];
      i = p;
    }
  };
  const pop = (): Event | undefined => {
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last !== undefined) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && less(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && less(heap[r]!, heap[m]!)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    return top;
  };

  const at = (time: number, fn: () => void): (() => void) => {
    const e: Event = { time: Math.max(time, now), seq: seq++, fn };
    push(e);
    return () => void (e.fn = null);
  };

  return {
    now: () => now,
    at,
    async run(until, stop) {
      for (;;) {
        const top = heap[0];
        if (top === undefined || top.time > until) break;
        pop();
        now = top.time;
        if (top.fn === null) continue;
        executed++;
        top.fn();
        // Handlers are async: let their continuations (a bounded chain) settle at this instant.
        for (let i = 0; i < 24; i++) await Promise.resolve();
        if (stop?.() === true) return;
      }
      now = Math.max(now, until);
    },
    nodeClock(skewMs) {
      const cancels = new Set<() => void>();
      let dead = false;
      let awakeAt = -Infinity;
      /** What came due while stalled: timers first, then deliveries, each in arrival order. */
      let lateTimers: (() => void)[] = [];
      let lateIo: (() => void)[] = [];
      const wake = (): void => {
        const timers = lateTimers;
        const io = lateIo;
        lateTimers = [];
        lateIo = [];
        for (const fn of [...timers, ...io]) if (!dead) fn();
      };
      return {
        now: () => now + skewMs,
        setTimer(fn, ms) {
          if (dead) return () => {};
          let live = true;
          const cancel = at(now + Math.max(0, ms), () => {
            cancels.delete(stop);
            if (dead || !live) return;
            if (now < awakeAt) lateTimers.push(() => live && fn());
            else fn();
          });
          const stop = (): void => {
            live = false;
            cancels.delete(stop);
            cancel();
          };
          cancels.add(stop);
          return stop;
        },
        crash() {
          dead = true;
          for (const c of cancels) c();
          cancels.clear();
          lateTimers = [];
          lateIo = [];
        },
        stall(ms) {
          if (dead || now < awakeAt) return;
          awakeAt = now + ms;
          at(awakeAt, wake);
        },
        whenAwake(fn) {
          if (dead) return;
          if (now < awakeAt) lateIo.push(fn);
          else fn();
        },
      };
    },
    get executed() {
      return executed;
    },
  };
}
