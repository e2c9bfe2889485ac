import { afterEach, describe, expect, it } from 'vitest';
import { startNode, stopAll, waitFor, type TestNode } from './support/mesh.ts';

describe('mDNS discovery', () => {
  const nodes: TestNode[] = [];
  afterEach(() => stopAll(nodes.splice(0)));

  it('nodes with mdns and no bootstrap find each other and sync', async () => {
    const a = await startNode({ mdns: true });
    const b = await startNode({ mdns: true });
    nodes.push(a, b);
    await waitFor('mDNS connection', () => a.peers().includes(b.replica));
    a.document('notes').orset<string>('tags').add('found');
    const tags = b.document('notes').orset<string>('tags');
    await waitFor('sync over the discovered link', () => tags.has('found'));
    expect([...tags.values()]).toEqual(['found']);
  });

  it('nodes without mdns stay apart', async () => {
    const a = await startNode();
    const b = await startNode();
    nodes.push(a, b);
    await new Promise((r) => setTimeout(r, 1000));
    expect(a.peers()).not.toContain(b.replica);
  });
});
