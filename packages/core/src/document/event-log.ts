import { Writer } from '../codec/writer.ts';
import type { ReplicaId } from '../replica.ts';

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

/** Records are packed into pages of this size (larger records get a page of their own). */
const PAGE_BYTES = 64 * 1024;

/**
 * The bounded delta log: recent events in arrival order, oldest dropped first
 * once either bound is exceeded. Peers that lag by no more than the log catch
 * up from it; others need a snapshot.
 *
 * Kept compact because it holds every recent event: records are packed into
 * shared pages, the index is typed arrays, and each record's leading replica
 * id (an event's first field, often a 52-character peer id) is stored once
 * per replica rather than once per event.
 */
export class EventLog {
  readonly limits: EventLogLimits;
  private readonly replicas: ReplicaId[] = [];
  private readonly replicaIndex = new Map<ReplicaId, number>();
  /** Per replica, the bytes a record starts with: its replica written as the first id of a fresh scope. */
  private readonly prefixes: Uint8Array[] = [];
  private pages: Uint8Array[] = [];
  /** Page number of pages[0]. */
  private pageBase = 0;
  private pageUsed = PAGE_BYTES;
  // Per entry, in [head, tail): page number, offset, stored length (negative: the prefix was kept), replica, seq.
  private page = new Int32Array(64);
  private offset = new Int32Array(64);
  private length = new Int32Array(64);
  private replica = new Int32Array(64);
  private seq = new Float64Array(64);
  private head = 0;
  private tail = 0;
  private storedBytes = 0;

  constructor(limits: EventLogLimits = defaultEventLogLimits) {
    this.limits = limits;
  }

  get size(): number {
    return this.tail - this.head;
  }

  /** Bytes of records held. */
  get bytes(): number {
    return this.storedBytes;
  }

  /**
   * Appends the record of event (replica, seq); calls `dropped` for every
   * event evicted to stay within the limits, oldest first.
   */
  append(
    replica: ReplicaId,
    seq: number,
    record: Uint8Array,
    dropped: (replica: ReplicaId, seq: number) => void,
  ): void {
    const r = this.replicaOf(replica);
    const prefix = this.prefixes[r] as Uint8Array;
    const stripped = startsWith(record, prefix);
    const body = stripped ? record.subarray(prefix.byteLength) : record;
    if (this.tail === this.page.length) this.makeRoom();
    const i = this.tail++;
    this.store(i, body);
    this.length[i] = stripped ? body.byteLength : -body.byteLength;
    this.replica[i] = r;
    this.seq[i] = seq;
    this.storedBytes += body.byteLength;
    while (this.size > 0 && (this.size > this.limits.maxEvents || this.storedBytes > this.limits.maxBytes)) {
      const h = this.head++;
      this.storedBytes -= Math.abs(this.length[h] as number);
      dropped(this.replicas[this.replica[h] as number] as ReplicaId, this.seq[h] as number);
    }
    this.releasePages();
  }

  /** Calls `visit` for each event, oldest first; `record()` gives the event's record while visiting. */
  forEach(visit: (replica: ReplicaId, seq: number, record: () => Uint8Array) => void): void {
    for (let i = this.head; i < this.tail; i++) {
      visit(this.replicas[this.replica[i] as number] as ReplicaId, this.seq[i] as number, () =>
        this.record(i),
      );
    }
  }

  private record(i: number): Uint8Array {
    const n = this.length[i] as number;
    const page = this.pages[(this.page[i] as number) - this.pageBase] as Uint8Array;
    const start = this.offset[i] as number;
    const body = page.subarray(start, start + Math.abs(n));
    if (n < 0) return body.slice();
    const prefix = this.prefixes[this.replica[i] as number] as Uint8Array;
    const out = new Uint8Array(prefix.byteLength + body.byteLength);
    out.set(prefix, 0);
    out.set(body, prefix.byteLength);
    return out;
  }

  private replicaOf(replica: ReplicaId): number {
    let r = this.replicaIndex.get(replica);
    if (r === undefined) {
      r = this.replicas.length;
      this.replicas.push(replica);
      this.replicaIndex.set(replica, r);
      const w = new Writer();
      w.replica(replica);
      this.prefixes.push(w.finish());
    }
    return r;
  }

  private store(i: number, body: Uint8Array): void {
    if (this.pages.length === 0 || body.byteLength > PAGE_BYTES - this.pageUsed) {
      this.pages.push(new Uint8Array(Math.max(PAGE_BYTES, body.byteLength)));
      this.pageUsed = 0;
    }
    const p = this.pages.length - 1;
    (this.pages[p] as Uint8Array).set(body, this.pageUsed);
    this.page[i] = p + this.pageBase;
    this.offset[i] = this.pageUsed;
    this.pageUsed += body.byteLength;
  }

  /** Frees pages that no held record uses any more. */
  private releasePages(): void {
    const first = this.size > 0 ? (this.page[this.head] as number) : this.pageBase + this.pages.length - 1;
    const unused = first - this.pageBase;
    if (unused > 0) {
      this.pages = this.pages.slice(unused);
      this.pageBase = first;
    }
  }

  /** Moves live entries to the front, or doubles the index when more than half is live. */
  private makeRoom(): void {
    const live = this.size;
    const capacity = live * 2 > this.page.length ? this.page.length * 2 : this.page.length;
    const move = <A extends Int32Array | Float64Array>(a: A, make: (n: number) => A): A => {
      const out = capacity === a.length ? a : make(capacity);
      out.set(a.subarray(this.head, this.tail), 0);
      return out;
    };
    this.page = move(this.page, (n) => new Int32Array(n));
    this.offset = move(this.offset, (n) => new Int32Array(n));
    this.length = move(this.length, (n) => new Int32Array(n));
    this.replica = move(this.replica, (n) => new Int32Array(n));
    this.seq = move(this.seq, (n) => new Float64Array(n));
    this.head = 0;
    this.tail = live;
  }
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.byteLength < prefix.byteLength) return false;
  for (let i = 0; i < prefix.byteLength; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}
