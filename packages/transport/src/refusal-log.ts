import type { MeshEvent, RefusalReason } from './metrics.ts';

/** Where the transport writes its log lines; a pino logger fits as it is. */
export interface MeshLogger {
  warn(fields: Record<string, unknown>, message: string): void;
}

export type Refusal = Extract<MeshEvent, { type: 'refused' }>;

export interface RefusalLog {
  refused(refusal: Refusal): void;
  /** Writes what is still held back and stops the timers. */
  close(): void;
}

interface ReasonState {
  /** Set while an interval is open: refusals then are only counted. */
  timer: ReturnType<typeof setTimeout> | undefined;
  suppressed: number;
}

/**
 * Logs refused connections, at most one line per reason per interval: a peer that redials with a
 * wrong key, or a scan of the port, must not flood the log. The first refusal is logged at once
 * with its details; the ones after it in the interval are counted and written as one line when
 * the interval ends, which opens the next interval.
 */
export function createRefusalLog(logger: MeshLogger, intervalMs: number): RefusalLog {
  const states = new Map<RefusalReason, ReasonState>();
  let closed = false;

  const summarize = (reason: RefusalReason, s: ReasonState): void => {
    logger.warn(
      { reason, suppressed: s.suppressed },
      `${s.suppressed} more connection(s) refused (${reason}) in the last ${intervalMs} ms`,
    );
    s.suppressed = 0;
  };

  const open = (reason: RefusalReason, s: ReasonState): void => {
    s.timer = setTimeout(() => {
      s.timer = undefined;
      if (s.suppressed === 0) return;
      summarize(reason, s);
      open(reason, s);
    }, intervalMs);
    // Pending log lines must not keep the process alive.
    s.timer.unref?.();
  };

  return {
    refused(r) {
      // Connections cut while the node stops are counted, not logged after its last line.
      if (closed) return;
      let s = states.get(r.reason);
      if (s === undefined) states.set(r.reason, (s = { timer: undefined, suppressed: 0 }));
      if (s.timer !== undefined) {
        s.suppressed++;
        return;
      }
      logger.warn(
        {
          reason: r.reason,
          direction: r.direction,
          address: r.address,
          ...(r.peer !== undefined ? { peer: r.peer } : {}),
        },
        `connection refused (${r.reason})`,
      );
      open(r.reason, s);
    },
    close() {
      closed = true;
      for (const [reason, s] of states) {
        clearTimeout(s.timer);
        s.timer = undefined;
        if (s.suppressed > 0) summarize(reason, s);
      }
    },
  };
}
