import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createRefusalLog, type Refusal } from '../src/refusal-log.ts';

const refusal = (reason: Refusal['reason'], n: number): Refusal => ({
  type: 'refused',
  reason,
  direction: 'inbound',
  address: `/ip4/10.0.0.${n}/tcp/4001`,
});

describe('refusal log', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('writes at most one line per reason per interval, then the count it held back', () => {
    const lines: Record<string, unknown>[] = [];
    const log = createRefusalLog({ warn: (fields) => void lines.push(fields) }, 1000);
    for (let i = 0; i < 5; i++) log.refused(refusal('pnet', i));
    log.refused(refusal('allow-list', 9));
    expect(lines).toEqual([
      { reason: 'pnet', direction: 'inbound', address: '/ip4/10.0.0.0/tcp/4001' },
      { reason: 'allow-list', direction: 'inbound', address: '/ip4/10.0.0.9/tcp/4001' },
    ]);

    vi.advanceTimersByTime(1000);
    expect(lines.slice(2)).toEqual([{ reason: 'pnet', suppressed: 4 }]);

    // The summary opened a new interval: a refusal in it is held back too.
    log.refused(refusal('pnet', 7));
    expect(lines).toHaveLength(3);
    vi.advanceTimersByTime(1000);
    expect(lines.slice(3)).toEqual([{ reason: 'pnet', suppressed: 1 }]);

    // A quiet interval ends without a line; the next refusal is logged at once.
    vi.advanceTimersByTime(1000);
    log.refused(refusal('pnet', 8));
    expect(lines.slice(4)).toEqual([
      { reason: 'pnet', direction: 'inbound', address: '/ip4/10.0.0.8/tcp/4001' },
    ]);
    log.close();
    expect(lines).toHaveLength(5);
    expect(vi.getTimerCount()).toBe(0);

    // Connections cut while the node stops come after its last line: not logged.
    log.refused(refusal('allow-list', 10));
    expect(lines).toHaveLength(5);
    expect(vi.getTimerCount()).toBe(0);
  });
});
