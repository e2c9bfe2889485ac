import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../src/internal.ts';

describe('retry backoff', () => {
  const policy = { initialMs: 100, factor: 2, maxMs: 5000, jitter: 0.2 };
  it('grows by the factor, stays within jitter and the cap, and is the same on every replica', () => {
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: 1, max: 30 }), (task, attempt) => {
        const d = backoffDelay(policy, task, attempt);
        const base = Math.min(5000, 100 * 2 ** (attempt - 1));
        expect(d).toBeGreaterThanOrEqual(Math.floor(base * 0.8));
        expect(d).toBeLessThanOrEqual(Math.ceil(base * 1.2));
        expect(backoffDelay(policy, task, attempt)).toBe(d);
      }),
    );
  });
});
