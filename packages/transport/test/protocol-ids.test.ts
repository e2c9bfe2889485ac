import { afterAll, describe, expect, it } from 'vitest';
import { SYNC_PROTOCOL } from '../src/index.ts';
import { startNode, type TestNode } from './support/mesh.ts';

describe('protocol ids', () => {
  const nodes: TestNode[] = [];
  afterAll(() => Promise.all(nodes.map((n) => n.stop())));

  it('make a peer of an older wire format fail at negotiation', async () => {
    const [a, b] = await Promise.all([startNode(), startNode()]);
    nodes.push(a, b);
    expect(a.libp2p.getProtocols()).toContain(SYNC_PROTOCOL);
    // The sync id of coordinators that start claims without receipts: no stream opens, nothing is read.
    await expect(b.libp2p.dialProtocol(a.multiaddrs[0]!, '/meshwork/sync/2')).rejects.toMatchObject({
      name: 'UnsupportedProtocolError',
    });
  });
});
