import type { CrdtType } from '../crdt-type.ts';
import { Reader } from '../codec/reader.ts';
import { Writer } from '../codec/writer.ts';
import type { MutationSink } from '../types/mutation-sink.ts';
import type { ORMapState } from '../types/ormap.ts';
import { createHandle, readSpec, typeFromSpec, writeSpec, type TypeSpec } from '../types/spec.ts';

/**
 * A member's type as the Document uses it: the spec, its CRDT descriptor, and
 * its encoded spec as a string key (equal keys mean the same type).
 */
export interface MemberType {
  readonly key: string;
  readonly spec: TypeSpec;
  readonly crdt: CrdtType<unknown>;
  /** Human-readable name for errors, e.g. "ormap<lww>". */
  readonly describe: string;
  /** For a map type, the keys a delta writes or removes (its partial store lists exactly those). */
  readonly keysOf: ((delta: unknown) => Iterable<string>) | undefined;
  handle(state: unknown, sink: MutationSink<unknown>): unknown;
}

/** Distinct specs remembered; a peer sending ever new ones cannot grow this without bound. */
const MAX_CACHED = 256;
const cache = new Map<string, MemberType>();

function keyOf(bytes: Uint8Array): string {
  let key = '';
  for (const b of bytes) key += String.fromCharCode(b);
  return key;
}

function describe(spec: TypeSpec): string {
  return spec.kind === 'ormap' ? `ormap<${describe(spec.value)}>` : spec.kind;
}

function create(key: string, spec: TypeSpec): MemberType {
  if (cache.size >= MAX_CACHED) cache.clear();
  const type: MemberType = {
    key,
    spec,
    crdt: typeFromSpec(spec),
    describe: describe(spec),
    keysOf: spec.kind === 'ormap' ? (delta) => (delta as ORMapState).store.entries.keys() : undefined,
    handle: (state, sink) => createHandle(spec, state, sink),
  };
  cache.set(key, type);
  return type;
}

/** The member type of `spec` (cached by encoding); undefined when `spec` is not a valid TypeSpec. */
export function memberType(spec: TypeSpec): MemberType | undefined {
  if (typeof spec !== 'object' || spec === null) return undefined;
  try {
    const w = new Writer();
    writeSpec(w, spec);
    const bytes = w.finish();
    const key = keyOf(bytes);
    const known = cache.get(key);
    if (known !== undefined) return known;
    // A new spec is valid when its encoding reads back to the same encoding.
    const again = new Writer();
    writeSpec(again, readSpec(new Reader(bytes)));
    return keyOf(again.finish()) === key ? create(key, spec) : undefined;
  } catch {
    return undefined;
  }
}

/** Reads a spec at `start` of `bytes` through `r`; throws only DecodeError. */
export function readMemberType(r: Reader, bytes: Uint8Array, start: number): MemberType {
  const spec = readSpec(r);
  let key = '';
  for (let i = start; i < r.position; i++) key += String.fromCharCode(bytes[i] as number);
  return cache.get(key) ?? create(key, spec);
}

/** Writes the member's spec (its cached encoding; a few bytes). */
export function writeMemberType(w: Writer, type: MemberType): void {
  const key = type.key;
  for (let i = 0; i < key.length; i++) w.byte(key.charCodeAt(i));
}
