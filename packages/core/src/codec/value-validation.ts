import { InvalidArgumentError, LimitExceededError } from '../types/errors.ts';
import { defaultDecodeLimits, valueDepthOf, type DecodeLimits } from './limits.ts';
import type { Value } from './value.ts';

/** Bytes of `n` as a lib0 unsigned varint. */
function uintBytes(n: number): number {
  let bytes = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    bytes++;
  }
  return bytes;
}

/** Bytes of `n` as a lib0 signed varint (6 bits in the first byte, 7 in the others). */
function intBytes(n: number): number {
  let m = Math.floor(Math.abs(n) / 0x40);
  let bytes = 1;
  while (m > 0) {
    m = Math.floor(m / 0x80);
    bytes++;
  }
  return bytes;
}

/** UTF-8 length of `s`, or -1 when it holds a lone surrogate (which UTF-8 cannot carry unchanged). */
function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return -1;
      n += 2; // 4 bytes for the pair's 2 units
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return -1;
    else n += 2;
  }
  return n;
}

/**
 * Encoded bytes of a string as the codec writes it, or throws when it could not
 * come back unchanged or is longer than `limits` allow. `what` names it in the error.
 */
function stringBytes(s: string, limits: DecodeLimits, what: string): number {
  const n = utf8Length(s);
  if (n < 0) throw new InvalidArgumentError(`${what} holds a lone surrogate, which UTF-8 cannot carry`);
  if (n > limits.maxStringBytes) {
    throw new LimitExceededError(
      'maxStringBytes',
      limits.maxStringBytes,
      `${what} of ${n} bytes exceeds maxStringBytes (${limits.maxStringBytes})`,
    );
  }
  return uintBytes(n) + n;
}

/**
 * Checks that a string can be stored and read back unchanged under `limits`: well-formed
 * UTF-16 and at most `maxStringBytes` as UTF-8. Throws InvalidArgumentError (LimitExceededError
 * for the size). Used for map keys, ids and names that travel as strings.
 */
export function validateString(
  s: unknown,
  limits: DecodeLimits = defaultDecodeLimits,
  what = 'string',
): asserts s is string {
  if (typeof s !== 'string') throw new InvalidArgumentError(`${what}: expected a string, got ${typeof s}`);
  stringBytes(s, limits, what);
}

/** Why `v` is not a Value, or undefined when it is one. */
function notAValue(v: unknown): string | undefined {
  switch (typeof v) {
    case 'boolean':
    case 'string':
      return undefined;
    case 'number':
      return Number.isNaN(v) ? 'NaN is not a storable number' : undefined;
    case 'object':
      return undefined;
    default:
      return `a ${typeof v} is not storable (JSON values and Uint8Array only)`;
  }
}

interface CheckFrame {
  readonly container: object;
  readonly items: readonly unknown[];
  /** Keys of an object, undefined for a list. */
  readonly keys: readonly string[] | undefined;
  next: number;
}

/**
 * Walks `v` iteratively and returns its encoded size, throwing InvalidArgumentError when it is
 * not a Value and LimitExceededError when it breaks `limits`. `limits` undefined checks shape only.
 */
function walk(v: unknown, limits: DecodeLimits | undefined): number {
  const maxDepth = limits === undefined ? Infinity : valueDepthOf(limits);
  const onPath = new Set<object>();
  const stack: CheckFrame[] = [];
  let size = 0;
  let item: unknown = v;
  for (;;) {
    // Examine `item`: a scalar adds its size, a container opens a frame.
    const bad = item === null ? undefined : notAValue(item);
    if (bad !== undefined) throw new InvalidArgumentError(`not a storable value: ${bad}`);
    if (item === null || typeof item !== 'object') {
      size += scalarBytes(item as boolean | number | string | null, limits);
    } else if (item instanceof Uint8Array) {
      if (limits !== undefined && item.byteLength > limits.maxStringBytes) {
        throw new LimitExceededError(
          'maxStringBytes',
          limits.maxStringBytes,
          `a byte array of ${item.byteLength} bytes exceeds maxStringBytes (${limits.maxStringBytes})`,
        );
      }
      size += 1 + uintBytes(item.byteLength) + item.byteLength;
    } else {
      if (onPath.has(item)) throw new InvalidArgumentError('not a storable value: it contains itself');
      const list = Array.isArray(item);
      const proto: unknown = Object.getPrototypeOf(item);
      if (!list && proto !== Object.prototype && proto !== null) {
        throw new InvalidArgumentError('not a storable value: a class instance (plain objects only)');
      }
      if (stack.length >= maxDepth) {
        throw new LimitExceededError(
          'maxValueDepth',
          maxDepth,
          `value nests lists and objects deeper than maxValueDepth (${maxDepth})`,
        );
      }
      const keys = list ? undefined : Object.keys(item);
      const items = list
        ? (item as unknown[])
        : (keys as string[]).map((k) => (item as Record<string, unknown>)[k]);
      const n = list ? (item as unknown[]).length : (keys as string[]).length;
      if (limits !== undefined && n > limits.maxEntries) {
        throw new LimitExceededError(
          'maxEntries',
          limits.maxEntries,
          `a ${list ? 'list' : 'object'} of ${n} entries exceeds maxEntries (${limits.maxEntries})`,
        );
      }
      size += 1 + uintBytes(n);
      onPath.add(item);
      stack.push({ container: item, items, keys, next: 0 });
    }
    if (limits !== undefined && size > limits.maxMessageBytes) {
      throw new LimitExceededError(
        'maxMessageBytes',
        limits.maxMessageBytes,
        `value encodes to more than maxMessageBytes (${limits.maxMessageBytes})`,
      );
    }
    // Move to the next item, closing finished containers.
    for (;;) {
      const top = stack[stack.length - 1];
      if (top === undefined) return size;
      if (top.next < top.items.length) {
        const i = top.next++;
        if (top.keys !== undefined)
          size += stringBytes(top.keys[i] as string, limits ?? unbounded, 'an object key');
        // A hole in a sparse array reads as undefined, which is not storable.
        item = top.keys === undefined && !(i in top.container) ? undefined : top.items[i];
        break;
      }
      stack.pop();
      onPath.delete(top.container);
    }
  }
}

const unbounded: DecodeLimits = {
  maxMessageBytes: Infinity,
  maxDepth: Infinity,
  maxEntries: Infinity,
  maxStringBytes: Infinity,
};

function scalarBytes(v: boolean | number | string | null, limits: DecodeLimits | undefined): number {
  if (v === null || typeof v === 'boolean') return 1;
  if (typeof v === 'string') return 1 + stringBytes(v, limits ?? unbounded, 'a string');
  return Number.isSafeInteger(v) && !Object.is(v, -0) ? 1 + intBytes(v) : 9;
}

/** True when `v` is a {@link Value}: rejects undefined, functions, symbols, bigints, NaN, class instances, cycles, lone surrogates. */
export function isValue(v: unknown): v is Value {
  try {
    walk(v, undefined);
    return true;
  } catch (error) {
    if (error instanceof InvalidArgumentError) return false;
    throw error;
  }
}

/**
 * Checks that `v` is a {@link Value} every replica accepts under `limits` (default: the
 * Document's defaults): lists and objects at most `maxValueDepth` deep, strings and byte
 * arrays at most `maxStringBytes`, at most `maxEntries` per list or object, encoded size at
 * most `maxMessageBytes`. Iterative, so any input is safe to pass. Returns the encoded size;
 * throws {@link LimitExceededError} naming the limit, or {@link InvalidArgumentError} for a
 * non-value. Messages name no path into the value.
 */
export function validateValue(v: unknown, limits: DecodeLimits = defaultDecodeLimits): number {
  return walk(v, limits);
}
