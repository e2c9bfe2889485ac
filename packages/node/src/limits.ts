import { defaultDecodeLimits } from '@meshwork/core';

/** Bounds a value must meet before it may enter the shared state. */
export interface ValueLimits {
  /** Deepest nesting of arrays and objects, the value itself being level 1. */
  readonly maxDepth: number;
  /** Most elements of one array or keys of one object. */
  readonly maxEntries: number;
  /** Longest string (or object key), in UTF-8 bytes. */
  readonly maxStringBytes: number;
}

/**
 * Levels the shared state puts above a value a task, result or workflow carries (the Document's
 * map, the record, its field: 3 today). Kept with headroom, so a change of record layout cannot
 * make a value accepted today undecodable for peers or for this node's own restore.
 */
const ENVELOPE_DEPTH = 8;

/** The codec's decode limits, less the envelope: what every peer and every restart can read back. */
export const valueLimits: ValueLimits = Object.freeze({
  maxDepth: defaultDecodeLimits.maxDepth - ENVELOPE_DEPTH,
  maxEntries: defaultDecodeLimits.maxEntries,
  maxStringBytes: defaultDecodeLimits.maxStringBytes,
});

/** The first limit a value breaks: which one, and where (a dotted path from `field`). */
export interface LimitViolation {
  readonly limit: keyof ValueLimits;
  readonly field: string;
  readonly message: string;
}

function tooLong(s: string, max: number): boolean {
  // UTF-8 takes at most 3 bytes per UTF-16 unit: most strings need no byte count.
  return s.length * 3 > max && Buffer.byteLength(s, 'utf8') > max;
}

/**
 * Checks `value` against `limits` without recursion, so hostile nesting cannot overflow the
 * stack, and stops at the first level past the limit instead of walking the rest.
 */
export function checkValue(
  value: unknown,
  field: string,
  limits: ValueLimits = valueLimits,
): LimitViolation | undefined {
  const stack: { v: unknown; path: string; depth: number }[] = [{ v: value, path: field, depth: 1 }];
  while (stack.length > 0) {
    const { v, path, depth } = stack.pop()!;
    if (typeof v === 'string') {
      if (tooLong(v, limits.maxStringBytes))
        return {
          limit: 'maxStringBytes',
          field: path,
          message: `${path}: string longer than ${limits.maxStringBytes} bytes (limit maxStringBytes)`,
        };
      continue;
    }
    if (typeof v !== 'object' || v === null || v instanceof Uint8Array) continue;
    if (depth > limits.maxDepth)
      return {
        limit: 'maxDepth',
        field: path,
        message: `${path}: nested more than ${limits.maxDepth} levels deep (limit maxDepth)`,
      };
    const entries: [string, unknown][] = Array.isArray(v)
      ? v.map((item, i) => [String(i), item])
      : Object.entries(v);
    if (entries.length > limits.maxEntries)
      return {
        limit: 'maxEntries',
        field: path,
        message: `${path}: more than ${limits.maxEntries} entries (limit maxEntries)`,
      };
    for (const [key, item] of entries) {
      if (!Array.isArray(v) && tooLong(key, limits.maxStringBytes))
        return {
          limit: 'maxStringBytes',
          field: path,
          message: `${path}: key longer than ${limits.maxStringBytes} bytes (limit maxStringBytes)`,
        };
      stack.push({ v: item, path: `${path}.${key}`, depth: depth + 1 });
    }
  }
  return undefined;
}
