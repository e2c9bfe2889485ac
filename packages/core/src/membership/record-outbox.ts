import type { ReplicaId } from '../replica.ts';
import { encodeFrame } from './frames.ts';
import { supersedes, type MemberRecord } from './member-record.ts';

/** Most records in one frame. */
export const TABLE_CHUNK = 500;
/** Records to forward wait this long, so that a burst goes to each neighbour in one frame. */
const FORWARD_DELAY_MS = 10;

/**
 * Records on their way to neighbours: those of one short spell go to each in one frame. Over
 * reliable links it remembers what went to each neighbour since its link came up, so that an
 * answer to a summary leaves out what is already on its way: while a change floods the mesh, a
 * neighbour's summary misses every record still in flight to it, and answering with them sent
 * each twice.
 */
export interface RecordOutbox {
  /** Queues records for `peer`, sent after FORWARD_DELAY_MS with whatever else is queued. */
  queue(peer: ReplicaId, records: readonly MemberRecord[]): void;
  /** `peer` holds `record`'s version: a record of that node queued for it and no newer need not go. */
  heldBy(peer: ReplicaId, record: MemberRecord): void;
  /** Sends what is queued now, to the peers still linked. */
  flush(): void;
  /**
   * Sends `peer` the answer to its summary now: `records` but, over reliable links, those of a
   * version already sent to it as a rumour over its link; an empty answer when none is left. Over
   * reliable links, any of them queued for it go in the answer instead.
   */
  answer(peer: ReplicaId, records: readonly MemberRecord[]): void;
  /** The link to `peer` came up or went down: what went over an earlier one says nothing of it. */
  forget(peer: ReplicaId): void;
  /** Drops the pending flush. */
  stop(): void;
}

const sameVersion = (a: MemberRecord, b: MemberRecord): boolean =>
  a.incarnation === b.incarnation && a.status === b.status;

export function createRecordOutbox(deps: {
  readonly links: { send(peer: ReplicaId, frame: Uint8Array): void };
  readonly timers: { setTimer(fn: () => void, ms: number): () => void };
  /** Neighbours with an open link. */
  readonly linked: ReadonlySet<ReplicaId>;
  readonly maxFrameBytes: number;
  /** Whether a frame sent over a link arrives while the link stays up (see `reliableLinks`). */
  readonly reliable: boolean;
}): RecordOutbox {
  const { links, timers, linked, maxFrameBytes, reliable } = deps;
  const outbox = new Map<ReplicaId, Map<ReplicaId, MemberRecord>>();
  /** Over reliable links, the last version of each node's record sent to each neighbour as a rumour. */
  const sent = new Map<ReplicaId, Map<ReplicaId, MemberRecord>>();
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

  /** Sends `records` to `peer` as a rumour; over reliable links, notes them as on their way. */
  const send = (peer: ReplicaId, records: readonly MemberRecord[]): void => {
    if (records.length === 0) return;
    for (const frame of framesOf('records', records)) links.send(peer, frame);
    if (!reliable) return;
    let log = sent.get(peer);
    if (log === undefined) sent.set(peer, (log = new Map<ReplicaId, MemberRecord>()));
    for (const record of records) log.set(record.node, record);
  };

  const onItsWay = (peer: ReplicaId, r: MemberRecord): boolean => {
    const last = sent.get(peer)?.get(r.node);
    return last !== undefined && sameVersion(last, r);
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
      // Over links that lose frames the copy queued as a rumour may yet stand in for a lost answer.
      const queued = reliable ? outbox.get(peer) : undefined;
      for (const r of records) {
        const q = queued?.get(r.node);
        if (q !== undefined && sameVersion(q, r)) queued!.delete(r.node);
      }
      // Not noted as sent: a summary may go again because its answer was lost.
      const lacking = records.filter((r) => !onItsWay(peer, r));
      for (const frame of framesOf('answer', lacking)) links.send(peer, frame);
    },
    forget(peer) {
      sent.delete(peer);
    },
    stop: () => cancelFlush?.(),
  };
}
