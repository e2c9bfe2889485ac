import type { HLC } from '../clock/hlc.ts';
import { DecodeError } from '../codec/decode-error.ts';
import type { DecodeLimits } from '../codec/limits.ts';
import type { Value } from '../codec/value.ts';
import { sameBytes } from '../codec/same-bytes.ts';
import { CausalContext } from '../causal/causal-context.ts';
import type { ReplicaId } from '../replica.ts';
import type { BoundedCounter } from '../types/bounded-counter.ts';
import type { GCounter, PNCounter } from '../types/counters.ts';
import type { Graph } from '../types/graph.ts';
import type { LWWRegister } from '../types/lww-register.ts';
import type { MutationSink } from '../types/mutation-sink.ts';
import type { MVRegister } from '../types/mvregister.ts';
import type { ORMap } from '../types/ormap.ts';
import type { ORSet } from '../types/orset.ts';
import * as specs from '../types/spec.ts';
import type { HandleOf, Spec, TypeSpec } from '../types/spec.ts';
import type { TimeSeries } from '../types/time-series.ts';
import type { YDoc } from '../types/ydoc.ts';
import { ChangeNotifier } from './change-notifier.ts';
import { decodeDigest, type Digest } from './digest.ts';
import type {
  ApplyOptions,
  ApplyResult,
  ChangesSince,
  Document,
  DocumentEvents,
  DocumentOptions,
  SnapshotOptions,
} from './document-api.ts';
import { documentSettings } from './document-options.ts';
import { DocumentArgumentError, MemberTypeError } from './errors.ts';
import { LocalEvents, openTransaction, type Transaction } from './local-events.ts';
import { memberType } from './member-type.ts';
import { MergedState, type Member } from './merged-state.ts';
import { MessageKind, messageKind } from './messages.ts';
import { mergeUpdate } from './remote-update.ts';
import { encodeSnapshot, mergeSnapshot } from './snapshot.ts';
import { SnapshotAssembler } from './snapshot-chunks.ts';
import { MAX_MEMBER_NAME, updateFromRecords } from './update.ts';

export function createDocument(options: DocumentOptions): Document {
  return new DocumentImpl(options);
}

/** Wires a Document's parts: its merged state, local events, remote merges and its events. */
class DocumentImpl implements Document {
  readonly replica: ReplicaId;
  readonly name: string;
  readonly hlc: HLC;
  private readonly limits: DecodeLimits;
  private readonly state: MergedState;
  private readonly local: LocalEvents;
  private readonly assembler: SnapshotAssembler;
  private readonly events = new ChangeNotifier();
  private tx: Transaction | undefined;

  constructor(options: DocumentOptions) {
    const settings = documentSettings(options);
    this.replica = settings.replica;
    this.name = settings.name;
    this.hlc = settings.hlc;
    this.limits = settings.limits;
    this.state = new MergedState(settings.log);
    this.local = new LocalEvents(this.state, this.hlc, this.limits, settings.seqFloor);
    this.assembler = new SnapshotAssembler(this.limits);
  }

  member<S extends TypeSpec>(name: string, spec: S): HandleOf<S> {
    if (typeof name !== 'string' || name.length === 0 || name.length > MAX_MEMBER_NAME) {
      throw new DocumentArgumentError(
        `member name must be a non-empty string of at most ${MAX_MEMBER_NAME} characters`,
      );
    }
    const type = memberType(spec);
    if (type === undefined) throw new DocumentArgumentError(`member "${name}": not a valid type spec`);
    const m = this.state.memberFor(name, type);
    if (m.type.key !== type.key) throw new MemberTypeError(name, m.type.describe, type.describe);
    m.handle ??= m.type.handle(m.state, this.sinkFor(m));
    return m.handle as HandleOf<S>;
  }

  orset<V extends Value = Value>(name: string): ORSet<V> {
    return this.member(name, specs.orset<V>());
  }

  lww<V extends Value = Value>(name: string): LWWRegister<V> {
    return this.member(name, specs.lww<V>());
  }

  mvregister<V extends Value = Value>(name: string): MVRegister<V> {
    return this.member(name, specs.mvregister<V>());
  }

  gcounter(name: string): GCounter {
    return this.member(name, specs.gcounter());
  }

  pncounter(name: string): PNCounter {
    return this.member(name, specs.pncounter());
  }

  boundedCounter(name: string): BoundedCounter {
    return this.member(name, specs.boundedCounter());
  }

  ormap<H>(name: string, value: Spec<H>): ORMap<H> {
    return this.member(name, specs.ormap(value));
  }

  graph(name: string): Graph {
    return this.member(name, specs.graph());
  }

  timeSeries(name: string): TimeSeries {
    return this.member(name, specs.timeSeries());
  }

  ydoc(name: string): YDoc {
    return this.member(name, specs.ydoc());
  }

  memberNames(): string[] {
    return [...this.state.members.keys()].sort();
  }

  private sinkFor(m: Member): MutationSink<unknown> {
    return {
      replica: this.replica,
      hlc: this.hlc,
      limits: this.limits,
      emit: (delta) => this.mutate(m, delta),
    };
  }

  transact<T>(fn: () => T, origin?: unknown): T {
    if (this.tx !== undefined) return fn();
    const tx = openTransaction(origin);
    this.tx = tx;
    try {
      return fn();
    } finally {
      this.tx = undefined;
      if (tx.seq !== 0) this.events.notify(this.local.commit(tx));
    }
  }

  private mutate(m: Member, delta: unknown): void {
    if (this.tx !== undefined) return this.local.write(this.tx, m, delta);
    // A mutation outside `transact` is an event of its own.
    const own = openTransaction(undefined);
    this.local.write(own, m, delta);
    this.events.notify(this.local.commit(own));
  }

  get equivocations(): number {
    return this.state.equivocations;
  }

  digest(): Digest {
    return this.state.context.clone();
  }

  encodedDigest(): Uint8Array {
    return this.state.encodedDigest();
  }

  changesSince(given: Digest | Uint8Array): ChangesSince {
    let digest: unknown = given;
    if (given instanceof Uint8Array) {
      if (sameBytes(given, this.encodedDigest())) return { covered: true, update: updateFromRecords([]) };
      digest = decodeDigest(given, this.limits);
    }
    if (!(digest instanceof CausalContext))
      throw new DocumentArgumentError('changesSince: digest must be a Digest');
    if (!digest.covers(this.state.unlogged)) return { covered: false };
    // A peer in sync, the usual case, lacks nothing: no walk over the whole event log.
    if (digest.covers(this.state.context)) return { covered: true, update: updateFromRecords([]) };
    const records: Uint8Array[] = [];
    this.state.log.forEach(
      (replica, seq, record) => {
        if (!digest.has(replica, seq)) records.push(record());
      },
      (replica, throughSeq) => digest.contiguous(replica) >= throughSeq,
    );
    return { covered: true, update: updateFromRecords(records) };
  }

  snapshot(options: SnapshotOptions = {}): Uint8Array[] {
    return encodeSnapshot(this.state, this.hlc, options);
  }

  apply(bytes: Uint8Array, origin?: unknown, options?: ApplyOptions): ApplyResult {
    if (!(bytes instanceof Uint8Array)) throw new DecodeError('invalid', 'message must be a Uint8Array');
    const onlyFrom = options?.onlyFrom;
    switch (messageKind(bytes)) {
      case MessageKind.Update: {
        const listened = this.events.listens('change');
        const { result, change } = mergeUpdate(
          this.state,
          this.hlc,
          this.limits,
          bytes,
          origin,
          onlyFrom,
          listened,
        );
        if (change !== undefined) this.events.notify(change);
        return result;
      }
      case MessageKind.SnapshotChunk: {
        if (onlyFrom !== undefined) {
          throw new DecodeError(
            'kind',
            `a snapshot chunk has no single origin (expected events of ${onlyFrom})`,
          );
        }
        const payload = this.assembler.add(this.assembler.check(bytes));
        if (payload === undefined) return { events: 0, duplicates: 0, members: [], snapshotComplete: false };
        const { result, change } = mergeSnapshot(this.state, this.hlc, this.limits, payload, origin);
        if (change !== undefined) this.events.notify(change);
        return { ...result, snapshotComplete: true };
      }
      case MessageKind.Digest:
        throw new DecodeError('kind', 'a digest is not applied: pass it to changesSince');
    }
  }

  on<K extends keyof DocumentEvents>(name: K, listener: DocumentEvents[K]): DocumentEvents[K] {
    return this.events.on(name, listener);
  }

  once<K extends keyof DocumentEvents>(name: K, listener: DocumentEvents[K]): void {
    this.events.once(name, listener);
  }

  off<K extends keyof DocumentEvents>(name: K, listener: DocumentEvents[K]): void {
    this.events.off(name, listener);
  }
}
