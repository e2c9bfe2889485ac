import { DecodeError } from './decode-error.ts';
import type { Reader } from './reader.ts';
import type { Writer } from './writer.ts';

/** Plain data that CRDTs can hold: JSON values plus byte arrays. */
export type Value =
  null | boolean | number | string | Uint8Array | readonly Value[] | { readonly [key: string]: Value };

const Tag = {
  Null: 0,
  False: 1,
  True: 2,
  Int: 3,
  Float: 4,
  String: 5,
  Bytes: 6,
  List: 7,
  Object: 8,
} as const;

/** Writes a value. Object keys are written sorted, so equal values encode to equal bytes. */
export function writeValue(w: Writer, v: Value): void {
  if (v === null) return w.byte(Tag.Null);
  switch (typeof v) {
    case 'boolean':
      return w.byte(v ? Tag.True : Tag.False);
    case 'number':
      if (Number.isSafeInteger(v) && !Object.is(v, -0)) {
        w.byte(Tag.Int);
        return w.int(v);
      }
      w.byte(Tag.Float);
      return w.float(v);
    case 'string':
      w.byte(Tag.String);
      return w.string(v);
  }
  if (v instanceof Uint8Array) {
    w.byte(Tag.Bytes);
    return w.bytes(v);
  }
  if (Array.isArray(v)) {
    const list = v as readonly Value[];
    w.byte(Tag.List);
    w.uint(list.length);
    for (const item of list) writeValue(w, item);
    return;
  }
  const obj = v as { readonly [key: string]: Value };
  const keys = Object.keys(obj).sort();
  w.byte(Tag.Object);
  w.uint(keys.length);
  for (const key of keys) {
    w.string(key);
    writeValue(w, obj[key] as Value);
  }
}

export function readValue(r: Reader): Value {
  const tag = r.byte('value tag');
  switch (tag) {
    case Tag.Null:
      return null;
    case Tag.False:
      return false;
    case Tag.True:
      return true;
    case Tag.Int:
      return r.int('int value');
    case Tag.Float:
      return r.float('float value');
    case Tag.String:
      return r.string('string value');
    case Tag.Bytes:
      return r.bytes('bytes value');
    case Tag.List:
      return r.nested('list value', () => {
        const n = r.count('list length');
        const out: Value[] = [];
        for (let i = 0; i < n; i++) out.push(readValue(r));
        return out;
      });
    case Tag.Object:
      return r.nested('object value', () => {
        const n = r.count('object size', 2);
        const out: { [key: string]: Value } = Object.create(null) as { [key: string]: Value };
        for (let i = 0; i < n; i++) {
          const key = r.string('object key');
          out[key] = readValue(r);
        }
        return out;
      });
    default:
      throw new DecodeError('invalid', `unknown value tag ${tag}`);
  }
}

/** True when `v` is a {@link Value}: rejects undefined, functions, symbols, bigints, class instances and cycles. */
export function isValue(v: unknown, seen: Set<object> = new Set()): v is Value {
  if (v === null) return true;
  switch (typeof v) {
    case 'boolean':
    case 'string':
      return true;
    case 'number':
      return !Number.isNaN(v);
    case 'object': {
      if (v instanceof Uint8Array) return true;
      if (seen.has(v)) return false;
      seen.add(v);
      const ok = Array.isArray(v)
        ? v.every((item) => isValue(item, seen))
        : Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null
          ? Object.values(v).every((item) => isValue(item, seen))
          : false;
      seen.delete(v);
      return ok;
    }
    default:
      return false;
  }
}
