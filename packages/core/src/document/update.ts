import { MAX_SEQ } from '../causal/dot.ts';
import { readLogical } from '../clock/timestamp.ts';
import { DecodeError } from '../codec/decode-error.ts';
import { defaultDecodeLimits, type DecodeLimits } from '../codec/limits.ts';
import { Reader } from '../codec/reader.ts';
import { Writer } from '../codec/writer.ts';
import type { ReplicaId } from '../replica.ts';
import { writeMemberType, type MemberType } from './member-type.ts';
import { LEGACY_VERSION, MESSAGE_VERSION, MessageKind, readHeader, writeHeader } from './messages.ts';

/** The delta one event made to one member. */
export interface EventDelta {
  readonly name: string;
  readonly type: MemberType;
  readonly delta: unknown;
}

/** One transaction of one replica: its dot (replica, seq), HLC reading and member deltas. */
export interface DocEvent {
  readonly replica: ReplicaId;
  readonly seq: number;
  readonly wall: number;
  readonly logical: number;
  readonly deltas: readonly EventDelta[];
}

/**
 * Reads a member type spec from `r` (starting at byte `start` of `bytes`) and
 * returns the type. Throws DecodeError for unknown specs.
 */
export type TypeReader = (r: Reader, bytes: Uint8Array, start: number) => MemberType;

/** Throws DecodeError when a message's member conflicts with what the receiver knows under that name. */
export type MemberCheck = (name: string, type: MemberType) => void;

/** Longest member name accepted, in UTF-16 units. */
export const MAX_MEMBER_NAME = 1024;
/** Smallest encoded event: replica, seq, wall, logical, end marker. */
const MIN_EVENT_BYTES = 5;

/**
 * Member names and specs interned per message: the first use of a member
 * writes `table size + 1`, its name and spec; later uses only `index + 1`.
 * 0 ends an event's delta list.
 */
export class MemberTable {
  /** Names in order of first use; a short list is searched, a long one indexed. */
  readonly names: string[] = [];
  private index: Map<string, number> | undefined;

  write(w: Writer, name: string, type: MemberType): void {
    const i = this.indexOf(name);
    if (i >= 0) {
      w.uint(i + 1);
      return;
    }
    this.names.push(name);
    this.index?.set(name, this.names.length - 1);
    w.uint(this.names.length);
    w.string(name);
    writeMemberType(w, type);
  }

  /** How many names are written, to `rewind` to when a delta is refused. */
  get size(): number {
    return this.names.length;
  }

  rewind(size: number): void {
    for (const name of this.names.splice(size)) this.index?.delete(name);
  }

  private indexOf(name: string): number {
    if (this.index !== undefined) return this.index.get(name) ?? -1;
    if (this.names.length > 16) {
      this.index = new Map(this.names.map((n, i) => [n, i]));
      return this.index.get(name) ?? -1;
    }
    return this.names.indexOf(name);
  }
}

/** Writes an event's header; its deltas follow, then `endEvent`. */
export function writeEventStart(
  w: Writer,
  replica: ReplicaId,
  seq: number,
  wall: number,
  logical: number,
): void {
  w.replica(replica);
  w.uint(seq);
  w.uint(wall);
  w.uint(logical);
}

export function endEvent(w: Writer): void {
  w.uint(0);
}

function writeEvent(w: Writer, members: MemberTable, event: DocEvent): void {
  writeEventStart(w, event.replica, event.seq, event.wall, event.logical);
  for (const d of event.deltas) {
    members.write(w, d.name, d.type);
    d.type.crdt.encode(w, d.delta);
  }
  endEvent(w);
}

/** Bytes of the update header up to the first event when it carries exactly one event. */
export const SINGLE_EVENT_PREFIX = Uint8Array.of(MESSAGE_VERSION, MessageKind.Update, 1);

/**
 * An event on its own, in its own interning scope: the form kept in the delta
 * log and the form each event takes inside an update message.
 */
export function encodeRecord(event: DocEvent): Uint8Array {
  const w = new Writer();
  writeEvent(w, new MemberTable(), event);
  return w.finish();
}

/**
 * One update message holding the given records. A record has its own replica and member
 * tables, so it is copied in as it is, except its leading replica id, which the message
 * interns: events of one replica (what a gossip batch holds) name it once. Batching events,
 * relaying received ones and serving the log never re-encode them.
 */
export function updateFromRecords(records: readonly Uint8Array[]): Uint8Array {
  const w = new Writer();
  writeHeader(w, MessageKind.Update);
  w.uint(records.length);
  for (const record of records) {
    const r = new Reader(record);
    w.replica(r.replica('record replica'));
    w.raw(record.subarray(r.position));
  }
  return w.finish();
}

/** The bytes a record of `replica`'s starts with: the replica, first id of the record's table. */
function recordPrefix(replica: ReplicaId): Uint8Array {
  const w = new Writer();
  w.replica(replica);
  return w.finish();
}

/** Reads a member name, rejecting empty and overlong ones. */
export function readMemberName(r: Reader): string {
  const name = r.string('member name');
  if (name.length === 0 || name.length > MAX_MEMBER_NAME) {
    throw new DecodeError('invalid', `member name of length ${name.length}`);
  }
  return name;
}

interface ReadMember {
  readonly name: string;
  readonly type: MemberType;
}

/** The members a message has defined so far: by index, and their names for the duplicate check. */
interface ReadTable {
  readonly members: ReadMember[];
  readonly names: Set<string>;
}

/** An event after its replica: seq, HLC reading and deltas. */
function readEventBody(
  r: Reader,
  replica: ReplicaId,
  bytes: Uint8Array,
  table: ReadTable,
  readType: TypeReader,
  check: MemberCheck | undefined,
): DocEvent {
  const seq = r.uint('event seq');
  if (seq === 0) throw new DecodeError('invalid', 'event seq 0 (seqs start at 1)');
  if (seq > MAX_SEQ) throw new DecodeError('invalid', `event seq ${seq} exceeds ${MAX_SEQ}`);
  const wall = r.uint('event wall time');
  const logical = readLogical(r, 'event logical time');
  const deltas: EventDelta[] = [];
  for (;;) {
    const ref = r.uint('event member');
    if (ref === 0) break;
    let member = table.members[ref - 1];
    if (member === undefined) {
      if (ref !== table.members.length + 1)
        throw new DecodeError('invalid', `member index ${ref - 1} skips the table`);
      if (table.members.length >= r.limits.maxEntries) throw new DecodeError('too_large', 'too many members');
      const name = readMemberName(r);
      if (table.names.has(name)) throw new DecodeError('invalid', `member "${name}" listed twice`);
      const type = readType(r, bytes, r.position);
      check?.(name, type);
      member = { name, type };
      table.members.push(member);
      table.names.add(name);
    }
    const delta = r.nested(`member "${member.name}"`, () => member.type.crdt.decode(r));
    deltas.push({ name: member.name, type: member.type, delta });
  }
  return { replica, seq, wall, logical, deltas };
}

/** A decoded update message: its events, and each event's record (a view into the message). */
export interface DecodedUpdate {
  readonly events: DocEvent[];
  readonly records: Uint8Array[];
  /** A version 1 message, whose records after the first are re-encoded rather than copied. */
  readonly legacy: boolean;
}

/** Decodes and validates a whole update message; throws only DecodeError. */
export function decodeUpdate(
  bytes: Uint8Array,
  readType: TypeReader,
  check?: MemberCheck,
  limits: DecodeLimits = defaultDecodeLimits,
): DecodedUpdate {
  const r = new Reader(bytes, limits);
  readHeader(r, MessageKind.Update);
  const legacy = bytes[0] === LEGACY_VERSION;
  const n = r.count('update events', MIN_EVENT_BYTES);
  let table: ReadTable = { members: [], names: new Set() };
  const events: DocEvent[] = [];
  const records: Uint8Array[] = [];
  /** Per replica, the bytes its records start with (a message mostly holds one replica's events). */
  const prefixes = new Map<ReplicaId, Uint8Array>();
  const prefixOf = (replica: ReplicaId): Uint8Array => {
    let prefix = prefixes.get(replica);
    if (prefix === undefined) prefixes.set(replica, (prefix = recordPrefix(replica)));
    return prefix;
  };
  for (let i = 0; i < n; i++) {
    const start = r.position;
    const replica = r.replica('event replica');
    const body = r.position;
    if (legacy) {
      const event = readEventBody(r, replica, bytes, table, readType, check);
      events.push(event);
      // A legacy event after the first may refer to tables earlier events filled: it is re-encoded alone.
      records.push(i === 0 ? bytes.subarray(start, r.position) : encodeRecord(event));
      continue;
    }
    // The replica is interned by the message; the rest of the event has tables of its own.
    const messageTable = r.enterRecordScope(replica);
    if (i > 0) table = { members: [], names: new Set() };
    events.push(readEventBody(r, replica, bytes, table, readType, check));
    r.leaveRecordScope(messageTable);
    records.push(
      i === 0
        ? bytes.subarray(start, r.position)
        : concat(prefixOf(replica), bytes.subarray(body, r.position)),
    );
  }
  r.end('update');
  return { events, records, legacy };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
  return out;
}
