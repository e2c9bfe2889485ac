import { dataLimits } from '@meshwork/coordinator';
import { LimitExceededError, validateValue, type LimitName } from '@meshwork/core';

/** The limit a value breaks, and the field it came in. */
export interface LimitViolation {
  readonly limit: LimitName;
  readonly field: string;
  readonly message: string;
}

/**
 * Checks `value` against the limits of task data (the coordinator's `dataLimits`: the codec's,
 * less the record around the value), so whatever the API accepts every peer and this node's own
 * restore read back. Iterative: hostile nesting cannot overflow the stack. Something that is not
 * plain data at all is left to the caller's own check.
 */
export function checkValue(value: unknown, field: string): LimitViolation | undefined {
  try {
    validateValue(value, dataLimits);
    return undefined;
  } catch (e) {
    if (e instanceof LimitExceededError) return { limit: e.limit, field, message: `${field}: ${e.message}` };
    return undefined;
  }
}
