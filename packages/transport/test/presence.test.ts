import { afterEach, describe, expect, it } from 'vitest';
import type { PresenceState } from '@meshwork/core';
import { decodePresence, encodePresence } from '../src/presence.ts';
import { linksDigest } from '../src/mesh-shape.ts';
import { startNode, stopAll, waitFor, type TestNode } from './support/mesh.ts';

describe('presence', () => {
  const nodes: TestNode[] = [];
  afterEach(() => stopAll(nodes.splice(0)));

  it('delivers heartbeats with state, and null when a peer leaves', async () => {
    const a = await startNode();
    const b = await startNode({ bootstrap: [a.multiaddrs[0]!] });
    nodes.push(a, b);
    const seen: [string, PresenceState | null][] = [];
    const unsubscribe = b.presence.onPresence((peer, state) => seen.push([peer, state]));
    expect(a.presence.self).toBe(a.replica);
    // Heartbeats until the subscription is known and one arrives.
    await waitFor('heartbeat', () => {
      a.presence.publish({ load: 2, tasks: ['t1'] });
      return seen.length > 0;
    });
    expect(seen[0]).toEqual([a.replica, { load: 2, tasks: ['t1'] }]);
    expect(b.presence.peers().get(a.replica)).toEqual({ load: 2, tasks: ['t1'] });
    await a.stop();
    await waitFor('left', () => seen.some(([, s]) => s === null));
    expect(b.presence.peers().has(a.replica)).toBe(false);
    unsubscribe();
  });

  it('rejects states that are not Value objects or too large', async () => {
    const a = await startNode({ limits: { maxPresenceBytes: 256 } });
    nodes.push(a);
    expect(() => a.presence.publish([1] as unknown as PresenceState)).toThrow(TypeError);
    expect(() => a.presence.publish({ blob: 'x'.repeat(300) })).toThrow(RangeError);
  });

  it('round-trips its encoding and refuses bad bytes with DecodeError', () => {
    const links = linksDigest(['r1', 'r2']);
    const u = { kind: 'state', replica: 'r1', clock: 5, links, state: { a: 1, b: [true, null] } } as const;
    expect(decodePresence(encodePresence(u), 1024)).toEqual(u);
    expect(() => decodePresence(new Uint8Array([2, 1]), 1024)).toThrow(/truncated/);
    expect(() => decodePresence(new Uint8Array([1]), 1024)).toThrow(/version/);
    const shortLinks = encodePresence({ ...u, links: links.subarray(0, 4) });
    expect(() => decodePresence(shortLinks, 1024)).toThrow(/links of 4 bytes/);
  });
});
