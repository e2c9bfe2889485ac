import { DecodeError } from './decode-error.ts';
import { valueDepthOf } from './limits.ts';
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

type ValueList = readonly Value[];
type ValueObject = { readonly [key: string]: Value };

/** A list or object being written or read: the walk keeps these on its own stack, never the call stack. */
interface WriteFrame {
  readonly items: ValueList | ValueObject;
  /** Sorted keys of an object; undefined for a list. */
  readonly keys: string[] | undefined;
  next: number;
}

/** Writes one scalar, or the header of a list or object, returning the frame to fill. */
function writeHead(w: Writer, v: Value): WriteFrame | undefined {
  if (v === null) {
    w.byte(Tag.Null);
    return undefined;
  }
  switch (typeof v) {
    case 'boolean':
      w.byte(v ? Tag.True : Tag.False);
      return undefined;
    case 'number':
      if (Number.isSafeInteger(v) && !Object.is(v, -0)) {
        w.byte(Tag.Int);
        w.int(v);
      } else {
        w.byte(Tag.Float);
        w.float(v);
      }
      return undefined;
    case 'string':
      w.byte(Tag.String);
      w.string(v);
      return undefined;
  }
  if (v instanceof Uint8Array) {
    w.byte(Tag.Bytes);
    w.bytes(v);
    return undefined;
  }
  if (Array.isArray(v)) {
    const list = v as ValueList;
    w.byte(Tag.List);
    w.uint(list.length);
    return { items: list, keys: undefined, next: 0 };
  }
  const keys = Object.keys(v).sort();
  w.byte(Tag.Object);
  w.uint(keys.length);
  return { items: v as ValueObject, keys, next: 0 };
}

/** Writes a value. Object keys are written sorted, so equal values encode to equal bytes. Iterative. */
export function writeValue(w: Writer, v: Value): void {
  const stack: WriteFrame[] = [];
  let frame = writeHead(w, v);
  if (frame === undefined) return;
  for (;;) {
    const keys = frame.keys;
    const size = keys === undefined ? (frame.items as ValueList).length : keys.length;
    if (frame.next === size) {
      const up = stack.pop();
      if (up === undefined) return;
      frame = up;
      continue;
    }
    let item: Value;
    if (keys === undefined) {
      item = (frame.items as ValueList)[frame.next++] as Value;
    } else {
      const key = keys[frame.next++] as string;
      w.string(key);
      item = (frame.items as ValueObject)[key] as Value;
    }
    const inner = writeHead(w, item);
    if (inner !== undefined) {
      stack.push(frame);
      frame = inner;
    }
  }
}

interface ReadFrame {
  readonly out: Value[] | { [key: string]: Value };
  readonly list: boolean;
  left: number;
  key: string;
}

/**
 * Reads a value. Iterative, with lists and objects nested at most `maxValueDepth` deep,
 * counted apart from the structure the value sits in.
 */
export function readValue(r: Reader): Value {
  const maxDepth = valueDepthOf(r.limits);
  const stack: ReadFrame[] = [];
  for (;;) {
    const tag = r.byte('value tag');
    let v: Value;
    switch (tag) {
      case Tag.Null:
        v = null;
        break;
      case Tag.False:
        v = false;
        break;
      case Tag.True:
        v = true;
        break;
      case Tag.Int:
        v = r.int('int value');
        break;
      case Tag.Float:
        v = r.float('float value');
        break;
      case Tag.String:
        v = r.string('string value');
        break;
      case Tag.Bytes:
        v = r.bytes('bytes value');
        break;
      case Tag.List:
      case Tag.Object: {
        const list = tag === Tag.List;
        if (stack.length >= maxDepth) {
          throw new DecodeError('too_deep', `value nesting exceeds ${maxDepth}`);
        }
        const n = list ? r.count('list length') : r.count('object size', 2);
        const out = list ? [] : plainObject();
        if (n === 0) {
          v = out;
          break;
        }
        stack.push({ out, list, left: n, key: list ? '' : r.string('object key') });
        continue;
      }
      default:
        throw new DecodeError('invalid', `unknown value tag ${tag}`);
    }
    // Hand `v` to its container; a container that is full is itself handed up.
    for (;;) {
      const top = stack[stack.length - 1];
      if (top === undefined) return v;
      if (top.list) (top.out as Value[]).push(v);
      else (top.out as { [key: string]: Value })[top.key] = v;
      if (--top.left > 0) {
        if (!top.list) top.key = r.string('object key');
        break;
      }
      stack.pop();
      v = top.out;
    }
  }
}

/**
 * An empty object without a prototype, so a key such as `__proto__` is an own property like any
 * other. Not `Object.create(null)`: V8 keeps those in dictionary mode, more than twice the
 * memory of an object with a shared shape, and a replica holds every record of the mesh.
 */
function plainObject(): { [key: string]: Value } {
  const out: { [key: string]: Value } = {};
  Object.setPrototypeOf(out, null);
  return out;
}
