import { afterEach, describe, expect, it } from 'vitest';
import { startNode, stopAll, waitFor, type TestNode } from './support/mesh.ts';
import type { MeshEvent } from '../src/index.ts';

/** The defaults, not the short delays of the other tests. */
const redial = { baseMs: 500, maxMs: 30_000 };

/** Delays of the redials `node` schedules towards `target` (a peer id or an address). */
function retries(node: TestNode, target: string): number[] {
  const delays: number[] = [];
  node.metrics.on('event', (e: MeshEvent) => {
    if (e.type === 'redial' && e.target.includes(target)) delays.push(e.delayMs);
  });
  return delays;
}

describe('reconnection', () => {
  const nodes: TestNode[] = [];
  afterEach(() => stopAll(nodes.splice(0)));

  it('a peer that was connected is retried at most a second apart, and reconnects once reachable', async () => {
    const a = await startNode({ redial });
    nodes.push(a);
    const b = await startNode({ redial, bootstrap: [a.multiaddrs[0]!] });
    nodes.push(b);
    await waitFor('connected', () => b.peers().includes(a.replica));
    const delays = retries(b, a.replica);

    // A partition: a refuses b, so b's redials fail for a while.
    await a.deny(b.replica);
    await waitFor('several refused retries', () => delays.length >= 5);
    a.undeny(b.replica);
    await waitFor('reconnected', () => b.peers().includes(a.replica) && a.peers().includes(b.replica));

    expect(delays.every((d) => d <= 1000)).toBe(true);
    expect(b.metrics.snapshot().redials).toBe(delays.length);
  });

  it('an address never reached keeps backing off beyond a second', async () => {
    const gone = await startNode();
    const addr = gone.multiaddrs[0]!;
    await gone.stop();
    const c = await startNode({ redial, bootstrap: [addr] });
    nodes.push(c);
    const delays = retries(c, gone.replica);
    await waitFor('three retries', () => delays.length >= 3);
    expect(delays[2]).toBeGreaterThan(1000);
  });
});
