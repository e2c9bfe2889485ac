import { afterEach, describe, expect, it } from 'vitest';
import { kvView, setKey, startNode, stopAll, type TestNode } from './support/mesh.ts';

describe('catchUp', () => {
  const nodes: TestNode[] = [];
  afterEach(async () => {
    await stopAll(nodes.splice(0));
  });

  it('resolves only once every reachable peer has synced its Documents to this node', async () => {
    const a = await startNode();
    const c = await startNode({ bootstrap: a.multiaddrs });
    nodes.push(a, c);
    const docA = a.document('tasks');
    const docC = c.document('tasks');
    // Written on both of B's future peers while B is away.
    docA.transact(() => {
      for (let i = 0; i < 200; i++) setKey(docA, `a-${i}`, i);
    });
    docC.transact(() => {
      for (let i = 0; i < 200; i++) setKey(docC, `c-${i}`, i);
    });
    const b = await startNode({ bootstrap: [...a.multiaddrs, ...c.multiaddrs] });
    nodes.push(b);
    const docB = b.document('tasks');
    const report = await b.catchUp();
    // Nothing awaited but catchUp: everything the peers held is here at once. (a may not have c's
    // writes yet: nothing here waits for their own round.)
    expect(docB.digest().covers(docA.digest())).toBe(true);
    expect(docB.digest().covers(docC.digest())).toBe(true);
    expect(kvView(docB)).toContain('"c-199",199');
    expect(report.timedOut).toBe(false);
    expect([...report.peers].sort()).toEqual([a.replica, c.replica].sort());
  });

  it('resolves after a bounded wait when no peer is reachable', async () => {
    const gone = await startNode();
    const addr = gone.multiaddrs;
    await gone.stop();
    const alone = await startNode({ bootstrap: addr });
    nodes.push(alone);
    alone.document('tasks');
    const report = await alone.catchUp({ connectMs: 300 });
    expect(report).toMatchObject({ peers: [], timedOut: false });
  });
});
