import { defaultDecodeLimits, type DecodeLimits } from '../codec/limits.ts';
import type { Value } from '../codec/value.ts';
import { validateString, validateValue } from '../codec/value-validation.ts';
import { InvalidArgumentError, LimitExceededError } from './errors.ts';

/**
 * Refuses, before anything changes, a value that is not storable or that peers would refuse
 * under `limits` (see validateValue). The error is prefixed with `what`.
 */
export function checkValue(
  v: unknown,
  what: string,
  limits: DecodeLimits = defaultDecodeLimits,
): asserts v is Value {
  try {
    validateValue(v, limits);
  } catch (error) {
    if (error instanceof InvalidArgumentError) error.message = `${what}: ${error.message}`;
    throw error;
  }
}

/** A non-negative safe integer amount. */
export function checkAmount(n: unknown, what: string): asserts n is number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    throw new InvalidArgumentError(`${what}: expected a non-negative integer, got ${String(n)}`);
  }
}

/** A string that travels unchanged and within `limits` (a key, id or name). */
export function checkString(
  s: unknown,
  what: string,
  limits: DecodeLimits = defaultDecodeLimits,
): asserts s is string {
  validateString(s, limits, what);
}

/**
 * Refuses, before anything changes, a new entry in a collection that already holds `size`:
 * peers decode each map, set, series and row with at most `maxEntries` entries.
 */
export function checkRoom(size: number, what: string, limits: DecodeLimits = defaultDecodeLimits): void {
  if (size >= limits.maxEntries) {
    throw new LimitExceededError(
      'maxEntries',
      limits.maxEntries,
      `${what}: a collection of ${size} entries is at maxEntries (${limits.maxEntries})`,
    );
  }
}
