import { isValue, type Value } from '../codec/value.ts';
import { InvalidArgumentError } from './errors.ts';

export function checkValue(v: unknown, what: string): asserts v is Value {
  if (typeof v === 'string' || typeof v === 'number' ? Number.isNaN(v) : !isValue(v)) {
    throw new InvalidArgumentError(`${what}: not a storable value (JSON or Uint8Array)`);
  }
}

/** A non-negative safe integer amount. */
export function checkAmount(n: unknown, what: string): asserts n is number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    throw new InvalidArgumentError(`${what}: expected a non-negative integer, got ${String(n)}`);
  }
}

export function checkString(s: unknown, what: string): asserts s is string {
  if (typeof s !== 'string') throw new InvalidArgumentError(`${what}: expected a string, got ${typeof s}`);
}
