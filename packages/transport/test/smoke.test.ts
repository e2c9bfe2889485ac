import { afterEach, describe, expect, it } from 'vitest';
import { startNode, stopAll, waitFor, type TestNode } from './support/mesh.ts';

describe('two nodes', () => {
  const nodes: TestNode[] = [];
  afterEach(() => stopAll(nodes.splice(0)));

  it('sync by gossip and anti-entropy', async () => {
    const a = await startNode();
    const b = await startNode();
    nodes.push(a, b);
    const da = a.document('tasks');
    const db = b.document('tasks');
    for (let i = 0; i < 5; i++) da.set(`k${i}`, 'before');
    await b.dial(a.multiaddrs[0]!);
    await waitFor('anti-entropy', () => db.size === 5);
    db.set('x', 'live');
    await waitFor('gossip', () => da.size === 6);
    expect(da.fingerprint()).toBe(db.fingerprint());
    expect(a.metrics.snapshot().syncRounds.completed).toBeGreaterThan(0);
  });
});
