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

/** Entries are packed into pages of this size (a larger entry gets a page of its own). */
const PAGE_BYTES = 64 * 1024;

/** A page of packed entries. */
interface Page {
  readonly bytes: Uint8Array;
  /** Where its entries end. */
  end: number;
  /**
   * The highest seq of each replica with an entry in it, worked out the first time a reader asks
   * (appending stays as cheap as it was): a reader whose digest holds every event of those
   * replicas up to those seqs skips the page unread (see `forEach`).
   */
  tops: Map<number, number> | undefined;
}

/**
 * The bounded delta log: recent events in arrival order, oldest dropped first
 * once either bound is exceeded. Peers that lag by no more than the log catch
 * up from it; others need a snapshot.
 *
 * Kept compact because it holds every recent event: entries are packed back to
 * back into 64 KiB pages as `replica index, seq, length, record` (varints), with
 * no per-event object, and each record's leading replica id (an event's first
 * field, often a 52-character peer id) is stored once per replica.
 */
export class EventLog {
  readonly limits: EventLogLimits;
  private readonly replicas: ReplicaId[] = [];
  private readonly replicaIndex = new Map<ReplicaId, number>();
  /**
   * Per replica, the bytes a record starts with: its replica written as the first id of a fresh
   * scope. Packed back to back (replica r's from `prefixStarts[r]` to `prefixStarts[r + 1]`), as
   * a log of a large mesh holds one for each of thousands of replicas.
   */
  private prefixBytes = new Uint8Array(1024);
  private readonly prefixStarts: number[] = [0];
  /** Pages oldest first. */
  private pages: Page[] = [];
  /** Where the oldest entry starts, in pages[0]. */
  private head = 0;
  private count = 0;
  private storedBytes = 0;

  constructor(limits: EventLogLimits = defaultEventLogLimits) {
    this.limits = limits;
  }

  get size(): number {
    return this.count;
  }

  /** Bytes of entries held. */
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
    const prefix = this.prefix(r);
    const stripped = startsWith(record, prefix);
    const body = stripped ? record.subarray(prefix.byteLength) : record;
    const flaggedLength = body.byteLength * 2 + (stripped ? 1 : 0);
    const size = varintSize(r) + varintSize(seq) + varintSize(flaggedLength) + body.byteLength;
    let page = this.pages.at(-1);
    if (page === undefined || size > page.bytes.byteLength - page.end) {
      if (this.count === 0) {
        // Nothing held: drop the older pages at once.
        this.pages = [];
        this.head = 0;
      }
      page = { bytes: new Uint8Array(Math.max(PAGE_BYTES, size)), end: 0, tops: undefined };
      this.pages.push(page);
    }
    let at = page.end;
    at = writeVarint(page.bytes, at, r);
    at = writeVarint(page.bytes, at, seq);
    at = writeVarint(page.bytes, at, flaggedLength);
    page.bytes.set(body, at);
    page.end = at + body.byteLength;
    this.count++;
    this.storedBytes += size;
    while (
      this.count > 0 &&
      (this.count > this.limits.maxEvents || this.storedBytes > this.limits.maxBytes)
    ) {
      this.dropOldest(dropped);
    }
  }

  private dropOldest(dropped: (replica: ReplicaId, seq: number) => void): void {
    const page = (this.pages[0] as Page).bytes;
    const start = this.head;
    const [r, afterR] = readVarint(page, start);
    const [seq, afterSeq] = readVarint(page, afterR);
    const [flaggedLength, afterLength] = readVarint(page, afterSeq);
    this.head = afterLength + Math.floor(flaggedLength / 2);
    this.count--;
    this.storedBytes -= this.head - start;
    if (this.head >= (this.pages[0] as Page).end && this.pages.length > 1) {
      this.pages.shift();
      this.head = 0;
    }
    dropped(this.replicas[r] as ReplicaId, seq);
  }

  /**
   * Calls `visit` for each event, oldest first; `record()` gives the event's record while visiting.
   * With `holds`, a page is skipped unread when, for every replica with an event in it, `holds`
   * says the reader has all of that replica's events up to the highest seq there: a peer that
   * lacks only recent events costs a look at each page, not a decode of every event.
   */
  forEach(
    visit: (replica: ReplicaId, seq: number, record: () => Uint8Array) => void,
    holds?: (replica: ReplicaId, throughSeq: number) => boolean,
  ): void {
    for (let p = 0; p < this.pages.length; p++) {
      if (holds !== undefined && this.heldPage(p, holds)) continue;
      const page = (this.pages[p] as Page).bytes;
      this.walkPage(p, (r, seq, start, length, stripped) =>
        visit(this.replicas[r] as ReplicaId, seq, () => this.record(page, start, length, stripped, r)),
      );
    }
  }

  /** Whether the reader holds every event of page `p`; the page still filling is always read. */
  private heldPage(p: number, holds: (replica: ReplicaId, throughSeq: number) => boolean): boolean {
    if (p === this.pages.length - 1) return false;
    const tops = ((this.pages[p] as Page).tops ??= this.pageTops(p));
    for (const [r, top] of tops) {
      if (!holds(this.replicas[r] as ReplicaId, top)) return false;
    }
    return true;
  }

  /** Page `p`'s highest seq per replica; entries dropped after it is worked out stay counted, which only makes it skip less. */
  private pageTops(p: number): Map<number, number> {
    const tops = new Map<number, number>();
    this.walkPage(p, (r, seq) => {
      if ((tops.get(r) ?? -1) < seq) tops.set(r, seq);
    });
    return tops;
  }

  /** Decodes each entry held in page `p`: replica index, seq, and where its record body lies. */
  private walkPage(
    p: number,
    entry: (r: number, seq: number, start: number, length: number, stripped: boolean) => void,
  ): void {
    const { bytes: page, end } = this.pages[p] as Page;
    for (let at = p === 0 ? this.head : 0; at < end;) {
      const [r, afterR] = readVarint(page, at);
      const [seq, afterSeq] = readVarint(page, afterR);
      const [flaggedLength, start] = readVarint(page, afterSeq);
      const length = Math.floor(flaggedLength / 2);
      entry(r, seq, start, length, flaggedLength % 2 === 1);
      at = start + length;
    }
  }

  private record(page: Uint8Array, start: number, length: number, stripped: boolean, r: number): Uint8Array {
    const body = page.subarray(start, start + length);
    if (!stripped) return body.slice();
    const prefix = this.prefix(r);
    const out = new Uint8Array(prefix.byteLength + length);
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
      const prefix = replicaPrefix(replica);
      const end = this.prefixStarts[r] as number;
      if (end + prefix.byteLength > this.prefixBytes.byteLength) {
        const grown = new Uint8Array(Math.max(2 * this.prefixBytes.byteLength, end + prefix.byteLength));
        grown.set(this.prefixBytes.subarray(0, end));
        this.prefixBytes = grown;
      }
      this.prefixBytes.set(prefix, end);
      this.prefixStarts.push(end + prefix.byteLength);
    }
    return r;
  }

  private prefix(r: number): Uint8Array {
    return this.prefixBytes.subarray(this.prefixStarts[r], this.prefixStarts[r + 1]);
  }
}

const utf8 = new TextEncoder();

/**
 * The bytes a Writer gives for `replica` first in a fresh scope (table index 0, then the id as a
 * varint-length string), made without a Writer: a log of a large mesh makes one per replica.
 */
function replicaPrefix(replica: ReplicaId): Uint8Array {
  const id = utf8.encode(replica);
  const out = new Uint8Array(1 + varintSize(id.byteLength) + id.byteLength);
  out.set(id, writeVarint(out, 1, id.byteLength));
  return out;
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.byteLength < prefix.byteLength) return false;
  for (let i = 0; i < prefix.byteLength; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/** Writes a non-negative safe integer as a little-endian base-128 varint; returns the next position. */
function writeVarint(bytes: Uint8Array, at: number, n: number): number {
  while (n >= 128) {
    bytes[at++] = (n % 128) | 128;
    n = Math.floor(n / 128);
  }
  bytes[at++] = n;
  return at;
}

function readVarint(bytes: Uint8Array, at: number): [number, number] {
  let n = 0;
  let scale = 1;
  for (;;) {
    const b = bytes[at++] as number;
    n += (b & 127) * scale;
    if (b < 128) return [n, at];
    scale *= 128;
  }
}
