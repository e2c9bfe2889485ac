import { CausalContext } from '../causal/causal-context.ts';
import { DecodeError } from '../codec/decode-error.ts';
import type { ReplicaId } from '../replica.ts';
import { encodeDigest } from './digest.ts';
import { EventLog, type EventLogLimits } from './event-log.ts';
import { fingerprint, Fingerprints } from './fingerprints.ts';
import type { MemberType } from './member-type.ts';

export interface Member {
  readonly name: string;
  readonly type: MemberType;
  readonly state: unknown;
  handle: unknown;
}

/**
 * What a replica has merged: its members' states, the dots of its events, and the log that serves
 * them to peers. Local transactions and remote messages both end here.
 */
export class MergedState {
  readonly members = new Map<string, Member>();
  /** Dots of every event merged. */
  readonly context = new CausalContext();
  /** Dots of merged events that are not in the log (dropped from it, or learnt from a snapshot). */
  readonly unlogged = new CausalContext();
  readonly log: EventLog;
  /** Fingerprints of the records of the events in the log (equivocation check). */
  readonly prints = new Fingerprints();
  /** Messages refused for equivocation. */
  equivocations = 0;
  /** `context` encoded as a digest message, until it changes. */
  private encoded: Uint8Array | null = null;

  constructor(log: EventLogLimits) {
    this.log = new EventLog(log);
  }

  memberFor(name: string, type: MemberType): Member {
    let m = this.members.get(name);
    if (m === undefined) {
      m = { name, type, state: type.crdt.empty(), handle: undefined };
      this.members.set(name, m);
    }
    return m;
  }

  /** A message may not redefine a member this replica knows under another type. */
  readonly checkMember = (name: string, type: MemberType): void => {
    const m = this.members.get(name);
    if (m !== undefined && m.type.key !== type.key) {
      throw new DecodeError(
        'invalid',
        `member "${name}" is a ${m.type.describe} here, the message says ${type.describe}`,
      );
    }
  };

  /** Records a merged event: its dot, and its record in the log for peers that lack it. */
  addEvent(replica: ReplicaId, seq: number, record: Uint8Array): void {
    this.context.add(replica, seq);
    this.encoded = null;
    this.prints.set(replica, seq, fingerprint(record));
    this.log.append(replica, seq, record, this.forget);
  }

  /** Joins a snapshot's context: its events are merged, but the log cannot serve them. */
  joinSnapshot(context: CausalContext): void {
    this.context.join(context);
    this.encoded = null;
    this.unlogged.join(context);
  }

  encodedDigest(): Uint8Array {
    return (this.encoded ??= encodeDigest(this.context));
  }

  /** An event dropped from the log stays in the context; remember that the log can no longer serve it. */
  private readonly forget = (replica: ReplicaId, seq: number): void => {
    this.unlogged.add(replica, seq);
    this.prints.delete(replica, seq);
  };
}
