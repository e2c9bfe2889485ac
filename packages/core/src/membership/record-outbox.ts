import type { ReplicaId } from '../replica.ts';
import { encodeFrame } from './frames.ts';
import { supersedes, type MemberRecord } from './member-record.ts';

/** Most records in one frame. */
export const TABLE_CHUNK = 500;
/** Records to forward wait this long, so that a burst goes to each neighbour in one frame. */
const FORWARD_DELAY_MS = 10;

/** Records on their way to neighbours: those of one short spell go to each in one frame. */
export interface RecordOutbox {
  /** Queues records for `peer`, sent after FORWARD_DELAY_MS with whatever else is queued. */
  queue(peer: ReplicaId, records: readonly MemberRecord[]): void;
  /** `peer` holds `record`'s version: a record of that node queued for it and no newer need not go. */
  heldBy(peer: ReplicaId, record: MemberRecord): void;
  /** Sends what is queued now, to the peers still linked. */
  flush(): void;
  /** Sends `peer` the answer to its summary now: `records`, or an empty answer when there are none. */
  answer(peer: ReplicaId, records: readonly MemberRecord[]): void;
  /** Drops the pending flush. */
  stop(): void;
}

export function createRecordOutbox(deps: {
  readonly links: { send(peer: ReplicaId, frame: Uint8Array): void };
  readonly timers: { setTimer(fn: () => void, ms: number): () => void };
  /** Neighbours with an open link. */
  readonly linked: ReadonlySet<ReplicaId>;
  readonly maxFrameBytes: number;
}): RecordOutbox {
  const { links, timers, linked, maxFrameBytes } = deps;
  const outbox = new Map<ReplicaId, Map<ReplicaId, MemberRecord>>();
  let cancelFlush: (() => void) | null = null;

  /** Records in frames of at most TABLE_CHUNK records and half the frame limit, so any peer takes them. */
  const framesOf = (kind: 'records' | 'answer', records: readonly MemberRecord[]): Uint8Array[] => {
    if (records.length > TABLE_CHUNK) {
      const out: Uint8Array[] = [];
      for (let i = 0; i < records.length; i += TABLE_CHUNK)
        out.push(...framesOf(kind, records.slice(i, i + TABLE_CHUNK)));
      return out;
    }
    const frame = encodeFrame({ kind, records });
    if (frame.byteLength <= maxFrameBytes / 2 || records.length <= 1) return [frame];
    const half = Math.ceil(records.length / 2);
    return [...framesOf(kind, records.slice(0, half)), ...framesOf(kind, records.slice(half))];
  };

  const send = (peer: ReplicaId, records: readonly MemberRecord[]): void => {
    if (records.length === 0) return;
    for (const frame of framesOf('records', records)) links.send(peer, frame);
  };

  function flush(): void {
    cancelFlush = null;
    for (const [peer, records] of outbox) if (linked.has(peer)) send(peer, [...records.values()]);
    outbox.clear();
  }

  return {
    heldBy(peer, record) {
      const queued = outbox.get(peer);
      const pending = queued?.get(record.node);
      if (pending !== undefined && !supersedes(pending, record)) queued!.delete(record.node);
    },
    queue(peer, records) {
      let queued = outbox.get(peer);
      if (queued === undefined) outbox.set(peer, (queued = new Map<ReplicaId, MemberRecord>()));
      for (const r of records) queued.set(r.node, r);
      cancelFlush ??= timers.setTimer(flush, FORWARD_DELAY_MS);
    },
    flush,
    answer(peer, records) {
      for (const frame of framesOf('answer', records)) links.send(peer, frame);
    },
    stop: () => cancelFlush?.(),
  };
}
