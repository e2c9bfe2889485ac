import { describe, expect, it } from 'vitest';
import { resourcePool } from '../resource-pool.ts';

describe('examples/resource-pool', () => {
  it('runs six one-GPU tasks on a two-GPU pool, never more than two at once', async () => {
    const outcome = await resourcePool(() => {});
    expect(outcome.succeeded).toBe(6);
    expect(outcome.mostAtOnce).toBeGreaterThanOrEqual(1);
    expect(outcome.mostAtOnce).toBeLessThanOrEqual(2);
  });
});
