import { DecodeError } from '../codec/decode-error.ts';
import type { Reader } from '../codec/reader.ts';
import { readValue, writeValue, type Value } from '../codec/value.ts';
import type { Writer } from '../codec/writer.ts';
import type { Causal } from '../causal/causal-state.ts';
import { DotFun } from '../causal/dot-store.ts';
import { funKind } from '../causal/store-kind.ts';
import { compareTimestamps, readTimestamp, writeTimestamp, type Timestamp } from '../clock/timestamp.ts';
import type { CrdtType } from '../crdt-type.ts';
import { checkValue } from './check.ts';
import { funWrite } from './mvregister.ts';
import { laterThan, latest, stampedCodec, type Stamped } from './ts-value.ts';
import { Handle } from './handle.ts';

/** What a last-writer-wins register offers, whether a document member or an ORMap value. */
export interface LWWRegister<V extends Value = Value> {
  set(v: V): void;
  /** The value of the latest write, or undefined before any. */
  get(): V | undefined;
  /** The HLC timestamp of the latest write. */
  readonly timestamp: Timestamp | undefined;
}

/** The latest write: O(1) whatever the number of writers. */
export interface LWWState {
  ts: Timestamp | undefined;
  value: Value;
}

export const lwwType: CrdtType<LWWState> = {
  name: 'lww',
  empty: () => ({ ts: undefined, value: null }),
  join(state, delta) {
    if (delta.ts === undefined) return false;
    if (state.ts !== undefined && compareTimestamps(delta.ts, state.ts) <= 0) return false;
    state.ts = delta.ts;
    state.value = delta.value;
    return true;
  },
  encode(w: Writer, state) {
    if (state.ts === undefined) return w.byte(0);
    w.byte(1);
    writeTimestamp(w, state.ts);
    writeValue(w, state.value);
  },
  decode(r: Reader) {
    const tag = r.byte('lww tag');
    if (tag === 0) return { ts: undefined, value: null };
    if (tag !== 1) throw new DecodeError('invalid', `lww: tag ${tag}`);
    const ts = readTimestamp(r, 'lww timestamp');
    return { ts, value: readValue(r) };
  },
};

/** The delta writing `value` stamped later than both the clock reading `now` and the current write. */
function lwwSet(state: LWWState, now: Timestamp, value: Value): LWWState {
  return { ts: laterThan(now, state.ts), value };
}

/** A document member LWW register; ties on timestamp are impossible since timestamps carry the replica id. */
export class LWWRegisterHandle<V extends Value = Value> extends Handle<LWWState> implements LWWRegister<V> {
  set(v: V): void {
    checkValue(v, 'LWWRegister.set', this.sink.limits);
    this.sink.emit(lwwSet(this.state, this.sink.hlc.now(), v));
  }

  get(): V | undefined {
    return this.state.ts === undefined ? undefined : (this.state.value as V);
  }

  get timestamp(): Timestamp | undefined {
    return this.state.ts;
  }
}

/**
 * The LWW register as an ORMap value: each write is a dot, so removing the
 * key removes exactly the writes it observed. Concurrent writes coexist until
 * the next write; reads take the latest timestamp.
 */
export type CausalLWWState = Causal<DotFun<Stamped>>;

export const causalLwwKind = funKind(stampedCodec);

export class CausalLWWRegister<V extends Value = Value>
  extends Handle<CausalLWWState>
  implements LWWRegister<V>
{
  set(v: V): void {
    checkValue(v, 'LWWRegister.set', this.sink.limits);
    const ts = laterThan(this.sink.hlc.now(), latest(this.state.store.entries)?.ts);
    this.sink.emit(funWrite<Stamped>(this.state, this.sink.replica, { ts, value: v }));
  }

  get(): V | undefined {
    return latest(this.state.store.entries)?.value as V | undefined;
  }

  get timestamp(): Timestamp | undefined {
    return latest(this.state.store.entries)?.ts;
  }
}
