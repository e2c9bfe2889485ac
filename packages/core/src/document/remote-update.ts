import type { Dot } from '../causal/dot.ts';
import type { HLC } from '../clock/hlc.ts';
import { DecodeError, EquivocationError } from '../codec/decode-error.ts';
import type { DecodeLimits } from '../codec/limits.ts';
import type { CrdtType } from '../crdt-type.ts';
import type { ReplicaId } from '../replica.ts';
import type { ApplyResult, ChangeEvent } from './document-api.ts';
import { fingerprint } from './fingerprints.ts';
import { MapKeys } from './map-keys.ts';
import { readMemberType } from './member-type.ts';
import type { MergedState } from './merged-state.ts';
import { checkWall, observeClock } from './remote-clock.ts';
import { decodeUpdate, type DocEvent, updateFromRecords } from './update.ts';

export interface MergeOutcome {
  readonly result: ApplyResult;
  /** The change to notify; absent when nothing merged or nobody listens. */
  readonly change?: ChangeEvent;
}

/**
 * Merges an update message from a peer: decoded and checked in full first (DecodeError, nothing
 * changed), then its new events joined into their members and logged; events already known
 * count as duplicates.
 */
export function mergeUpdate(
  state: MergedState,
  hlc: HLC,
  limits: DecodeLimits,
  bytes: Uint8Array,
  origin: unknown,
  onlyFrom: ReplicaId | undefined,
  listened: boolean,
): MergeOutcome {
  const {
    events,
    records: eventRecords,
    legacy,
  } = decodeUpdate(bytes, readMemberType, state.checkMember, limits);
  if (onlyFrom !== undefined) {
    const foreign = events.find((e) => e.replica !== onlyFrom);
    if (foreign !== undefined) {
      throw new DecodeError(
        'origin',
        `event ${foreign.replica}:${foreign.seq} in a message from ${onlyFrom}`,
      );
    }
  }
  checkEvents(state, hlc, events, eventRecords, legacy);
  // Everything is validated; from here on nothing throws before the listeners run.
  let duplicates = 0;
  const changed = new Set<string>();
  const keys = new MapKeys();
  const dots: Dot[] = [];
  const records: Uint8Array[] = [];
  let wall = -1;
  let logical = 0;
  events.forEach((e, i) => {
    if (state.context.has(e.replica, e.seq)) {
      duplicates++;
      return;
    }
    const record = eventRecords[i] as Uint8Array;
    for (const d of e.deltas) {
      const m = state.memberFor(d.name, d.type);
      if (!m.type.crdt.join(m.state, d.delta)) continue;
      changed.add(d.name);
      keys.add(d.name, m.type, d.delta);
    }
    state.addEvent(e.replica, e.seq, record);
    if (e.wall > wall || (e.wall === wall && e.logical > logical)) {
      wall = e.wall;
      logical = e.logical;
    }
    dots.push({ replica: e.replica, seq: e.seq });
    records.push(record);
  });
  const members = [...changed];
  const result = { events: dots.length, duplicates, members };
  if (dots.length === 0) return { result };
  observeClock(hlc, wall, logical);
  if (!listened) return { result };
  const update = duplicates === 0 ? bytes : updateFromRecords(records);
  return { result, change: { update, local: false, origin, members, keys, dots, snapshot: false } };
}

/**
 * Everything about a decoded update that depends on this replica's state, before any of it
 * merges: known dots must carry the record merged under them (equivocation), and deltas of
 * types whose join can fail are tried first (`CrdtType.check`). Throws DecodeError, having
 * changed nothing.
 */
function checkEvents(
  state: MergedState,
  hlc: HLC,
  events: readonly DocEvent[],
  records: readonly Uint8Array[],
  legacy: boolean,
): void {
  const fresh = new Map<string, number>();
  const scratch = new Map<string, unknown>();
  const horizon = hlc.horizon();
  const checked: { readonly crdt: CrdtType<unknown>; readonly state: unknown }[] = [];
  try {
    events.forEach((e, i) => {
      // A version 1 message re-encodes its records, so their bytes prove nothing. Hashed only
      // where a known dot is met again: a fresh event is hashed once, when it is logged.
      const differs = (known: number): boolean => !legacy && known !== fingerprint(records[i] as Uint8Array);
      if (state.context.has(e.replica, e.seq)) {
        const known = state.prints.get(e.replica, e.seq);
        if (known !== undefined && differs(known)) throw new EquivocationError(e.replica, e.seq);
        return;
      }
      const key = `${e.seq} ${e.replica}`;
      const first = fresh.get(key);
      if (first !== undefined) {
        if (differs(fingerprint(records[first] as Uint8Array))) throw new EquivocationError(e.replica, e.seq);
        return;
      }
      fresh.set(key, i);
      for (const d of e.deltas) {
        const crdt = d.type.crdt;
        checkWall(crdt, d.delta, horizon, d.name);
        if (crdt.check === undefined) continue;
        let memberState = state.members.get(d.name)?.state;
        if (memberState === undefined) {
          memberState = scratch.get(d.name);
          if (memberState === undefined) scratch.set(d.name, (memberState = crdt.empty()));
        }
        checked.push({ crdt, state: memberState });
        crdt.check(memberState, d.delta);
      }
    });
  } catch (error) {
    for (const c of checked) c.crdt.release?.(c.state);
    if (error instanceof EquivocationError) state.equivocations++;
    throw error;
  }
}
