import { CausalContext } from '../causal/causal-context.ts';
import type { HLC } from '../clock/hlc.ts';
import { readLogical } from '../clock/timestamp.ts';
import { DecodeError } from '../codec/decode-error.ts';
import type { DecodeLimits } from '../codec/limits.ts';
import { Reader } from '../codec/reader.ts';
import { Writer } from '../codec/writer.ts';
import type { SnapshotOptions } from './document-api.ts';
import { DocumentArgumentError } from './errors.ts';
import { readMemberType, writeMemberType, type MemberType } from './member-type.ts';
import type { Member, MergedState } from './merged-state.ts';
import { noKeys } from './map-keys.ts';
import { checkWall, observeClock } from './remote-clock.ts';
import type { MergeOutcome } from './remote-update.ts';
import { chunkSnapshot, MIN_CHUNK_BYTES } from './snapshot-chunks.ts';
import { readMemberName } from './update.ts';

interface MemberState {
  readonly name: string;
  readonly type: MemberType;
  readonly state: unknown;
}

/** The full state as chunk messages: the HLC, the causal context, and every member by name. */
export function encodeSnapshot(state: MergedState, hlc: HLC, options: SnapshotOptions): Uint8Array[] {
  const maxChunkBytes = options.maxChunkBytes ?? 1024 * 1024;
  if (!Number.isSafeInteger(maxChunkBytes) || maxChunkBytes < MIN_CHUNK_BYTES) {
    throw new DocumentArgumentError(`snapshot: maxChunkBytes must be an integer >= ${MIN_CHUNK_BYTES}`);
  }
  const w = new Writer();
  const ts = hlc.peek();
  w.uint(ts.wall);
  w.uint(ts.logical);
  state.context.encode(w);
  const names = [...state.members.keys()].sort();
  w.uint(names.length);
  for (const name of names) {
    const m = state.members.get(name) as Member;
    w.string(name);
    writeMemberType(w, m.type);
    m.type.crdt.encode(w, m.state);
  }
  return chunkSnapshot(w.finish(), maxChunkBytes);
}

/**
 * Merges an assembled snapshot: decoded and checked in full first (DecodeError, nothing changed),
 * then every member joined and its context taken in (events the log cannot serve).
 */
export function mergeSnapshot(
  state: MergedState,
  hlc: HLC,
  limits: DecodeLimits,
  payload: Uint8Array,
  origin: unknown,
): MergeOutcome {
  const r = new Reader(payload, limits);
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
    state.checkMember(name, type);
    const memberState = r.nested(`member "${name}"`, () => type.crdt.decode(r));
    states.push({ name, type, state: memberState });
  }
  r.end('snapshot');
  const horizon = hlc.horizon();
  for (const s of states) checkWall(s.type.crdt, s.state, horizon, s.name);
  const checked: MemberState[] = [];
  try {
    for (const s of states) {
      if (s.type.crdt.check === undefined) continue;
      const current = state.members.get(s.name)?.state ?? s.type.crdt.empty();
      checked.push({ name: s.name, type: s.type, state: current });
      s.type.crdt.check(current, s.state);
    }
  } catch (error) {
    for (const c of checked) c.type.crdt.release?.(c.state);
    throw error;
  }
  // Validated: merge.
  const before = state.context.size;
  const members: string[] = [];
  for (const s of states) {
    const m = state.memberFor(s.name, s.type);
    if (m.type.crdt.join(m.state, s.state)) members.push(s.name);
  }
  state.joinSnapshot(context);
  observeClock(hlc, wall, logical);
  const events = state.context.size - before;
  const result = { events, duplicates: 0, members };
  if (events === 0 && members.length === 0) return { result };
  const update = chunkSnapshot(payload, payload.byteLength + MIN_CHUNK_BYTES)[0] as Uint8Array;
  return {
    result,
    change: { update, local: false, origin, members, keys: noKeys, dots: [], snapshot: true },
  };
}
