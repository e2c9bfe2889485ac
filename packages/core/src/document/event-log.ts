import type { ReplicaId } from '../replica.ts';

/** One logged event: its dot and its record (the event encoded in its own interning scope). */
export interface LogEntry {
  readonly replica: ReplicaId;
  readonly seq: number;
  readonly record: Uint8Array;
}

export interface EventLogLimits {
  /** Most events kept. */
  readonly maxEvents: number;
  /** Most record bytes kept. */
  readonly maxBytes: number;
}

export const defaultEventLogLimits: EventLogLimits = Object.freeze({
  maxEvents: 100_000,
  maxBytes: 16 * 1024 * 1024,
});

/**
 * The bounded delta log: recent events in arrival order, oldest dropped first
 * once either bound is exceeded. Peers that lag by no more than the log catch
 * up from it; others need a snapshot.
 */
export class EventLog {
  private entries: (LogEntry | undefined)[] = [];
  private head = 0;
  private totalBytes = 0;
  readonly limits: EventLogLimits;

  constructor(limits: EventLogLimits = defaultEventLogLimits) {
    this.limits = limits;
  }

  get size(): number {
    return this.entries.length - this.head;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /** Appends an entry and returns the entries dropped to stay within the limits (oldest first). */
  append(entry: LogEntry): LogEntry[] {
    this.entries.push(entry);
    this.totalBytes += entry.record.byteLength;
    const dropped: LogEntry[] = [];
    while (this.size > 0 && (this.size > this.limits.maxEvents || this.totalBytes > this.limits.maxBytes)) {
      const old = this.entries[this.head] as LogEntry;
      this.entries[this.head] = undefined;
      this.head++;
      this.totalBytes -= old.record.byteLength;
      dropped.push(old);
    }
    // Compact once the dropped prefix dominates, keeping appends amortised O(1).
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
    return dropped;
  }

  /** Entries oldest first. */
  *[Symbol.iterator](): Generator<LogEntry> {
    for (let i = this.head; i < this.entries.length; i++) yield this.entries[i] as LogEntry;
  }
}
