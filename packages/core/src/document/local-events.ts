import type { HLC } from '../clock/hlc.ts';
import type { DecodeLimits } from '../codec/limits.ts';
import { Writer } from '../codec/writer.ts';
import { LimitExceededError } from '../types/errors.ts';
import type { ChangeEvent } from './document-api.ts';
import { MapKeys } from './map-keys.ts';
import type { Member, MergedState } from './merged-state.ts';
import { MessageKind, writeHeader } from './messages.ts';
import { endEvent, MemberTable, SINGLE_EVENT_PREFIX, writeEventStart } from './update.ts';

/** A local transaction: the event its mutations build. */
export interface Transaction {
  readonly origin: unknown;
  /** Seq of the event, once the first mutation started it (0 before). */
  seq: number;
  /** Members written so far, in order of first use. */
  table: MemberTable;
  /** Keys written so far, per map member. */
  keys: MapKeys;
}

export function openTransaction(origin: unknown): Transaction {
  return { origin, seq: 0, table: new MemberTable(), keys: new MapKeys() };
}

/** Turns local mutations into events: encoded as they are made, merged, and logged on commit. */
export class LocalEvents {
  /** Encodes local events; reused, since one event is encoded at a time. */
  private readonly writer = new Writer();

  private readonly state: MergedState;
  private readonly hlc: HLC;
  private readonly limits: DecodeLimits;
  /** Local seqs start above this (see DocumentOptions.startSeq). */
  private readonly seqFloor: number;

  constructor(state: MergedState, hlc: HLC, limits: DecodeLimits, seqFloor: number) {
    this.state = state;
    this.hlc = hlc;
    this.limits = limits;
    this.seqFloor = seqFloor;
  }

  /**
   * Appends one delta to the transaction's event, encoding it at once so later in-place changes
   * cannot alter it, then joins it into the member. A delta that would take the event past
   * `maxMessageBytes` (which every peer would refuse) is refused first: LimitExceededError,
   * the member and the event so far unchanged.
   */
  write(tx: Transaction, m: Member, delta: unknown): void {
    const w = this.writer;
    const opens = tx.seq === 0;
    if (opens) {
      w.reset();
      writeHeader(w, MessageKind.Update);
      w.uint(1);
      tx.seq = Math.max(this.state.context.nextSeq(this.hlc.replica), this.seqFloor + 1);
      const ts = this.hlc.now();
      writeEventStart(w, this.hlc.replica, tx.seq, ts.wall, ts.logical);
    }
    const mark = w.mark();
    const names = tx.table.size;
    tx.table.write(w, m.name, m.type);
    m.type.crdt.encode(w, delta);
    // The event ends with one more byte (endEvent).
    const max = this.limits.maxMessageBytes;
    if (w.length + 1 > max) {
      w.rewind(mark);
      tx.table.rewind(names);
      if (opens) tx.seq = 0;
      throw new LimitExceededError(
        'maxMessageBytes',
        max,
        `member "${m.name}": this write would take its transaction's event past maxMessageBytes (${max})`,
      );
    }
    m.type.crdt.join(m.state, delta);
    tx.keys.add(m.name, m.type, delta);
  }

  /** Ends the transaction's event and records it; returns the change to notify. */
  commit(tx: Transaction): ChangeEvent {
    const w = this.writer;
    endEvent(w);
    const update = w.finish();
    w.reset();
    const replica = this.hlc.replica;
    this.state.addEvent(replica, tx.seq, update.subarray(SINGLE_EVENT_PREFIX.byteLength));
    return {
      update,
      local: true,
      origin: tx.origin,
      members: tx.table.names,
      keys: tx.keys,
      dots: [{ replica, seq: tx.seq }],
      snapshot: false,
    };
  }
}
