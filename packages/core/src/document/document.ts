import { CausalContext } from '../causal/causal-context.ts';
import type { Dot } from '../causal/dot.ts';
import { ClockDriftError, HLC } from '../clock/hlc.ts';
import { readLogical } from '../clock/timestamp.ts';
import { MAX_SEQ } from '../causal/dot.ts';
import { DecodeError, EquivocationError } from '../codec/decode-error.ts';
import type { CrdtType } from '../crdt-type.ts';
import { defaultDecodeLimits, type DecodeLimits } from '../codec/limits.ts';
import { Reader } from '../codec/reader.ts';
import { sameBytes } from '../codec/same-bytes.ts';
import { Writer } from '../codec/writer.ts';
import type { ReplicaId } from '../replica.ts';
import type { Value } from '../codec/value.ts';
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
import { LimitExceededError } from '../types/errors.ts';
import type { YDoc } from '../types/ydoc.ts';
import { decodeDigest, encodeDigest, type Digest } from './digest.ts';
import { DocumentArgumentError, MemberTypeError } from './errors.ts';
import { fingerprint, Fingerprints } from './fingerprints.ts';
import { defaultEventLogLimits, EventLog } from './event-log.ts';
import { memberType, readMemberType, writeMemberType, type MemberType } from './member-type.ts';
import { MessageKind, messageKind, writeHeader } from './messages.ts';
import { chunkSnapshot, MIN_CHUNK_BYTES, SnapshotAssembler } from './snapshot-chunks.ts';
import {
  decodeUpdate,
  endEvent,
  type DocEvent,
  MAX_MEMBER_NAME,
  readMemberName,
  MemberTable,
  SINGLE_EVENT_PREFIX,
  updateFromRecords,
  writeEventStart,
} from './update.ts';
import type {
  DocumentOptions,
  ChangeEvent,
  ChangeListener,
  ApplyOptions,
  ApplyResult,
  ChangesSince,
  SnapshotOptions,
  Document,
} from './document-api.ts';

interface Member {
  readonly name: string;
  readonly type: MemberType;
  readonly state: unknown;
  handle: unknown;
}

interface MemberState {
  readonly name: string;
  readonly type: MemberType;
  readonly state: unknown;
}

interface Transaction {
  readonly origin: unknown;
  /** Seq of the event, once the first mutation started it (0 before). */
  seq: number;
  /** Members written so far, in order of first use. */
  table: MemberTable;
  /** Keys written so far, per map member. */
  keys: MapKeys;
}

/** Collects the keys that map deltas touch, per member. */
class MapKeys extends Map<string, Set<string>> {
  add(name: string, type: MemberType, delta: unknown): void {
    if (type.keysOf === undefined) return;
    let keys = this.get(name);
    if (keys === undefined) this.set(name, (keys = new Set()));
    for (const k of type.keysOf(delta)) keys.add(k);
  }
}

const noKeys: ReadonlyMap<string, ReadonlySet<string>> = new Map();

const MAX_REPLICA_ID = 256;

export function createDocument(options: DocumentOptions): Document {
  return new DocumentImpl(options);
}

class DocumentImpl implements Document {
  readonly replica: ReplicaId;
  readonly name: string;
  readonly hlc: HLC;
  private readonly limits: DecodeLimits;
  private readonly members = new Map<string, Member>();
  /** Dots of every event merged. */
  private readonly context = new CausalContext();
  /** `context` encoded as a digest message, until it changes. */
  private encoded: Uint8Array | null = null;
  /** Dots of merged events that are not in the log (dropped from it, or learnt from a snapshot). */
  private readonly unlogged = new CausalContext();
  private readonly log: EventLog;
  private readonly assembler: SnapshotAssembler;
  private listeners: readonly ChangeListener[] = [];
  private readonly pending: ChangeEvent[] = [];
  private notifying = false;
  private tx: Transaction | undefined;
  /** Encodes local events; reused, since one event is encoded at a time. */
  private readonly writer = new Writer();
  /** Fingerprints of the records of the events in the log (equivocation check). */
  private readonly prints = new Fingerprints();
  private equivocationCount = 0;
  /** Local seqs start above this (see DocumentOptions.startSeq). */
  private readonly seqFloor: number;

  constructor(options: DocumentOptions) {
    if (typeof options !== 'object' || options === null)
      throw new DocumentArgumentError('createDocument: options required');
    const { replica, name } = options;
    if (typeof replica !== 'string' || replica.length === 0 || replica.length > MAX_REPLICA_ID) {
      throw new DocumentArgumentError(
        `createDocument: replica must be a non-empty string of at most ${MAX_REPLICA_ID} characters`,
      );
    }
    if (typeof name !== 'string') throw new DocumentArgumentError('createDocument: name must be a string');
    const maxEvents = options.log?.maxEvents ?? defaultEventLogLimits.maxEvents;
    const maxBytes = options.log?.maxBytes ?? defaultEventLogLimits.maxBytes;
    if (!Number.isSafeInteger(maxEvents) || maxEvents < 0) {
      throw new DocumentArgumentError('createDocument: log.maxEvents must be a non-negative integer');
    }
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
      throw new DocumentArgumentError('createDocument: log.maxBytes must be a non-negative integer');
    }
    this.replica = replica;
    this.name = name;
    this.hlc = new HLC(replica, {
      ...(options.clock !== undefined && { clock: options.clock }),
      ...(options.maxDriftMs !== undefined && { maxDriftMs: options.maxDriftMs }),
    });
    this.limits = checkLimits(options.limits ?? defaultDecodeLimits);
    const startSeq = options.startSeq ?? 0;
    if (!Number.isSafeInteger(startSeq) || startSeq < 0 || startSeq >= MAX_SEQ) {
      throw new DocumentArgumentError(`createDocument: startSeq must be an integer in [0, ${MAX_SEQ})`);
    }
    this.seqFloor = startSeq;
    this.log = new EventLog({ maxEvents, maxBytes });
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
    const m = this.memberFor(name, type);
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
    return [...this.members.keys()].sort();
  }

  private memberFor(name: string, type: MemberType): Member {
    let m = this.members.get(name);
    if (m === undefined) {
      m = { name, type, state: type.crdt.empty(), handle: undefined };
      this.members.set(name, m);
    }
    return m;
  }

  private sinkFor(m: Member): MutationSink<unknown> {
    return {
      replica: this.replica,
      hlc: this.hlc,
      limits: this.limits,
      emit: (delta) => this.emit(m, delta),
    };
  }

  /** A message may not redefine a member this replica knows under another type. */
  private readonly checkMember = (name: string, type: MemberType): void => {
    const m = this.members.get(name);
    if (m !== undefined && m.type.key !== type.key) {
      throw new DecodeError(
        'invalid',
        `member "${name}" is a ${m.type.describe} here, the message says ${type.describe}`,
      );
    }
  };

  transact<T>(fn: () => T, origin?: unknown): T {
    if (this.tx !== undefined) return fn();
    const tx: Transaction = { origin, seq: 0, table: new MemberTable(), keys: new MapKeys() };
    this.tx = tx;
    try {
      return fn();
    } finally {
      this.tx = undefined;
      if (tx.seq !== 0) this.commit(tx);
    }
  }

  private emit(m: Member, delta: unknown): void {
    const tx = this.tx;
    if (tx === undefined) {
      // A mutation outside `transact` is an event of its own.
      const own: Transaction = { origin: undefined, seq: 0, table: new MemberTable(), keys: new MapKeys() };
      this.write(own, m, delta);
      this.commit(own);
      return;
    }
    this.write(tx, m, delta);
  }

  /**
   * Appends one delta to the transaction's event, encoding it at once so later in-place changes
   * cannot alter it, then joins it into the member. A delta that would take the event past
   * `maxMessageBytes` (which every peer would refuse) is refused first: LimitExceededError,
   * the member and the event so far unchanged.
   */
  private write(tx: Transaction, m: Member, delta: unknown): void {
    const w = this.writer;
    const opens = tx.seq === 0;
    if (opens) {
      w.reset();
      writeHeader(w, MessageKind.Update);
      w.uint(1);
      tx.seq = Math.max(this.context.nextSeq(this.replica), this.seqFloor + 1);
      const ts = this.hlc.now();
      writeEventStart(w, this.replica, tx.seq, ts.wall, ts.logical);
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

  private commit(tx: Transaction): void {
    const w = this.writer;
    endEvent(w);
    const update = w.finish();
    w.reset();
    const record = update.subarray(SINGLE_EVENT_PREFIX.byteLength);
    this.context.add(this.replica, tx.seq);
    this.encoded = null;
    this.logEvent(this.replica, tx.seq, record);
    this.notify({
      update,
      local: true,
      origin: tx.origin,
      members: tx.table.names,
      keys: tx.keys,
      dots: [{ replica: this.replica, seq: tx.seq }],
      snapshot: false,
    });
  }

  private logEvent(replica: ReplicaId, seq: number, record: Uint8Array): void {
    this.prints.set(replica, seq, fingerprint(record));
    this.log.append(replica, seq, record, this.forget);
  }

  /** An event dropped from the log stays in the context; remember that the log can no longer serve it. */
  private readonly forget = (replica: ReplicaId, seq: number): void => {
    this.unlogged.add(replica, seq);
    this.prints.delete(replica, seq);
  };

  get equivocations(): number {
    return this.equivocationCount;
  }

  /**
   * Everything about a decoded update that depends on this replica's state, before any of it
   * merges: known dots must carry the record merged under them (equivocation), and deltas of
   * types whose join can fail are tried first (`CrdtType.check`). Throws DecodeError, having
   * changed nothing.
   */
  private checkEvents(events: readonly DocEvent[], records: readonly Uint8Array[], legacy: boolean): void {
    const fresh = new Map<string, number>();
    const scratch = new Map<string, unknown>();
    const horizon = this.hlc.horizon();
    const checked: { readonly crdt: CrdtType<unknown>; readonly state: unknown }[] = [];
    try {
      events.forEach((e, i) => {
        // A version 1 message re-encodes its records, so their bytes prove nothing. Hashed only
        // where a known dot is met again: a fresh event is hashed once, when it is logged.
        const differs = (known: number): boolean =>
          !legacy && known !== fingerprint(records[i] as Uint8Array);
        if (this.context.has(e.replica, e.seq)) {
          const known = this.prints.get(e.replica, e.seq);
          if (known !== undefined && differs(known)) throw new EquivocationError(e.replica, e.seq);
          return;
        }
        const key = `${e.seq} ${e.replica}`;
        const first = fresh.get(key);
        if (first !== undefined) {
          if (differs(fingerprint(records[first] as Uint8Array)))
            throw new EquivocationError(e.replica, e.seq);
          return;
        }
        fresh.set(key, i);
        for (const d of e.deltas) {
          const crdt = d.type.crdt;
          checkWall(crdt, d.delta, horizon, d.name);
          if (crdt.check === undefined) continue;
          let state = this.members.get(d.name)?.state;
          if (state === undefined) {
            state = scratch.get(d.name);
            if (state === undefined) scratch.set(d.name, (state = crdt.empty()));
          }
          checked.push({ crdt, state });
          crdt.check(state, d.delta);
        }
      });
    } catch (error) {
      for (const c of checked) c.crdt.release?.(c.state);
      if (error instanceof EquivocationError) this.equivocationCount++;
      throw error;
    }
  }

  private observeClock(wall: number, logical: number): void {
    try {
      this.hlc.receive({ wall, logical, replica: this.replica });
    } catch (error) {
      // A clock far ahead is not followed; the event itself is still valid and merges.
      if (!(error instanceof ClockDriftError)) throw error;
    }
  }

  digest(): Digest {
    return this.context.clone();
  }

  encodedDigest(): Uint8Array {
    return (this.encoded ??= encodeDigest(this.context));
  }

  changesSince(given: Digest | Uint8Array): ChangesSince {
    let digest: unknown = given;
    if (given instanceof Uint8Array) {
      if (sameBytes(given, this.encodedDigest())) return { covered: true, update: updateFromRecords([]) };
      digest = decodeDigest(given, this.limits);
    }
    if (!(digest instanceof CausalContext))
      throw new DocumentArgumentError('changesSince: digest must be a Digest');
    if (!digest.covers(this.unlogged)) return { covered: false };
    // A peer in sync, the usual case, lacks nothing: no walk over the whole event log.
    if (digest.covers(this.context)) return { covered: true, update: updateFromRecords([]) };
    const records: Uint8Array[] = [];
    this.log.forEach((replica, seq, record) => {
      if (!digest.has(replica, seq)) records.push(record());
    });
    return { covered: true, update: updateFromRecords(records) };
  }

  snapshot(options: SnapshotOptions = {}): Uint8Array[] {
    const maxChunkBytes = options.maxChunkBytes ?? 1024 * 1024;
    if (!Number.isSafeInteger(maxChunkBytes) || maxChunkBytes < MIN_CHUNK_BYTES) {
      throw new DocumentArgumentError(`snapshot: maxChunkBytes must be an integer >= ${MIN_CHUNK_BYTES}`);
    }
    const w = new Writer();
    const ts = this.hlc.peek();
    w.uint(ts.wall);
    w.uint(ts.logical);
    this.context.encode(w);
    const names = this.memberNames();
    w.uint(names.length);
    for (const name of names) {
      const m = this.members.get(name) as Member;
      w.string(name);
      writeMemberType(w, m.type);
      m.type.crdt.encode(w, m.state);
    }
    return chunkSnapshot(w.finish(), maxChunkBytes);
  }

  apply(bytes: Uint8Array, origin?: unknown, options?: ApplyOptions): ApplyResult {
    if (!(bytes instanceof Uint8Array)) throw new DecodeError('invalid', 'message must be a Uint8Array');
    const onlyFrom = options?.onlyFrom;
    switch (messageKind(bytes)) {
      case MessageKind.Update:
        return this.applyUpdate(bytes, origin, onlyFrom);
      case MessageKind.SnapshotChunk:
        if (onlyFrom !== undefined) {
          throw new DecodeError(
            'kind',
            `a snapshot chunk has no single origin (expected events of ${onlyFrom})`,
          );
        }
        return this.applyChunk(bytes, origin);
      case MessageKind.Digest:
        throw new DecodeError('kind', 'a digest is not applied: pass it to changesSince');
    }
  }

  private applyUpdate(bytes: Uint8Array, origin: unknown, onlyFrom: ReplicaId | undefined): ApplyResult {
    const {
      events,
      records: eventRecords,
      legacy,
    } = decodeUpdate(bytes, readMemberType, this.checkMember, this.limits);
    if (onlyFrom !== undefined) {
      const foreign = events.find((e) => e.replica !== onlyFrom);
      if (foreign !== undefined) {
        throw new DecodeError(
          'origin',
          `event ${foreign.replica}:${foreign.seq} in a message from ${onlyFrom}`,
        );
      }
    }
    this.checkEvents(events, eventRecords, legacy);
    // Everything is validated; from here on nothing throws before the listeners run.
    let duplicates = 0;
    const changed = new Set<string>();
    const keys = new MapKeys();
    const dots: Dot[] = [];
    const records: Uint8Array[] = [];
    let wall = -1;
    let logical = 0;
    events.forEach((e, i) => {
      if (this.context.has(e.replica, e.seq)) {
        duplicates++;
        return;
      }
      const record = eventRecords[i] as Uint8Array;
      for (const d of e.deltas) {
        const m = this.memberFor(d.name, d.type);
        if (!m.type.crdt.join(m.state, d.delta)) continue;
        changed.add(d.name);
        keys.add(d.name, m.type, d.delta);
      }
      this.context.add(e.replica, e.seq);
      this.encoded = null;
      this.logEvent(e.replica, e.seq, record);
      if (e.wall > wall || (e.wall === wall && e.logical > logical)) {
        wall = e.wall;
        logical = e.logical;
      }
      dots.push({ replica: e.replica, seq: e.seq });
      records.push(record);
    });
    const members = [...changed];
    if (dots.length > 0) {
      this.observeClock(wall, logical);
      if (this.listeners.length > 0) {
        const update = duplicates === 0 ? bytes : updateFromRecords(records);
        this.notify({ update, local: false, origin, members, keys, dots, snapshot: false });
      }
    }
    return { events: dots.length, duplicates, members };
  }

  private applyChunk(bytes: Uint8Array, origin: unknown): ApplyResult {
    const chunk = this.assembler.check(bytes);
    const payload = this.assembler.add(chunk);
    if (payload === undefined) return { events: 0, duplicates: 0, members: [], snapshotComplete: false };
    return { ...this.applySnapshot(payload, origin), snapshotComplete: true };
  }

  private applySnapshot(payload: Uint8Array, origin: unknown): ApplyResult {
    const r = new Reader(payload, this.limits);
    const wall = r.uint('snapshot wall time');
    const logical = readLogical(r, 'snapshot logical time');
    const context = r.nested('snapshot context', () => CausalContext.decode(r));
    const n = r.count('snapshot members', 3);
    const states: MemberState[] = [];
    let last: string | undefined;
    for (let i = 0; i < n; i++) {
      const name = readMemberName(r);
      if (last !== undefined && name <= last) throw new DecodeError('invalid', 'snapshot members not sorted');
      last = name;
      const type = readMemberType(r, payload, r.position);
      this.checkMember(name, type);
      const state = r.nested(`member "${name}"`, () => type.crdt.decode(r));
      states.push({ name, type, state });
    }
    r.end('snapshot');
    const horizon = this.hlc.horizon();
    for (const s of states) checkWall(s.type.crdt, s.state, horizon, s.name);
    const checked: MemberState[] = [];
    try {
      for (const s of states) {
        if (s.type.crdt.check === undefined) continue;
        const state = this.members.get(s.name)?.state ?? s.type.crdt.empty();
        checked.push({ name: s.name, type: s.type, state });
        s.type.crdt.check(state, s.state);
      }
    } catch (error) {
      for (const c of checked) c.type.crdt.release?.(c.state);
      throw error;
    }
    // Validated: merge.
    const before = this.context.size;
    const members: string[] = [];
    for (const s of states) {
      const m = this.memberFor(s.name, s.type);
      if (m.type.crdt.join(m.state, s.state)) members.push(s.name);
    }
    this.context.join(context);
    this.encoded = null;
    this.unlogged.join(context);
    this.observeClock(wall, logical);
    const events = this.context.size - before;
    if (events > 0 || members.length > 0) {
      const update = chunkSnapshot(payload, payload.byteLength + MIN_CHUNK_BYTES)[0] as Uint8Array;
      this.notify({ update, local: false, origin, members, keys: noKeys, dots: [], snapshot: true });
    }
    return { events, duplicates: 0, members };
  }

  on(type: 'change', listener: ChangeListener): void {
    checkListener(type, listener);
    this.listeners = [...this.listeners, listener];
  }

  off(type: 'change', listener: ChangeListener): void {
    checkListener(type, listener);
    const i = this.listeners.indexOf(listener);
    if (i >= 0) this.listeners = [...this.listeners.slice(0, i), ...this.listeners.slice(i + 1)];
  }

  /**
   * Calls the listeners in registration order. A change raised from inside a
   * listener is queued until every listener has seen the current one, so all
   * listeners see changes in the same order.
   */
  private notify(event: ChangeEvent): void {
    if (this.listeners.length === 0) return;
    this.pending.push(event);
    if (this.notifying) return;
    this.notifying = true;
    try {
      for (let next = this.pending.shift(); next !== undefined; next = this.pending.shift()) {
        for (const listener of this.listeners) listener(next);
      }
    } finally {
      this.notifying = false;
      this.pending.length = 0;
    }
  }
}

/** Refuses a delta acting on a wall time past `horizon` (the receiver's clock plus its drift cap). */
function checkWall(crdt: CrdtType<unknown>, delta: unknown, horizon: number, member: string): void {
  const wall = crdt.wallOf?.(delta);
  if (wall !== undefined && wall > horizon) {
    throw new DecodeError(
      'clock',
      `member "${member}": wall time ${wall} is more than the drift cap ahead of local time`,
    );
  }
}

/** Limits a Document can work under: positive integers, with room for every member spec. */
function checkLimits(limits: DecodeLimits): DecodeLimits {
  if (typeof limits !== 'object' || limits === null) {
    throw new DocumentArgumentError('createDocument: limits must be an object');
  }
  const fields = ['maxMessageBytes', 'maxDepth', 'maxEntries', 'maxStringBytes'] as const;
  for (const field of fields) {
    const n = limits[field];
    if (!Number.isSafeInteger(n) || n <= 0) {
      throw new DocumentArgumentError(`createDocument: limits.${field} must be a positive integer`);
    }
  }
  const valueDepth = limits.maxValueDepth;
  if (valueDepth !== undefined && (!Number.isSafeInteger(valueDepth) || valueDepth < 0)) {
    throw new DocumentArgumentError('createDocument: limits.maxValueDepth must be a non-negative integer');
  }
  if (limits.maxDepth < specs.MAX_STRUCTURE_DEPTH) {
    throw new DocumentArgumentError(
      `createDocument: limits.maxDepth must be at least ${specs.MAX_STRUCTURE_DEPTH}, the nesting of the deepest member spec`,
    );
  }
  return limits;
}

function checkListener(type: string, listener: unknown): void {
  if (type !== 'change') throw new DocumentArgumentError(`unknown document event "${type}"`);
  if (typeof listener !== 'function') throw new DocumentArgumentError('listener must be a function');
}
