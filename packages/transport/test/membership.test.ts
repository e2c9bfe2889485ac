import { lpStream } from '@libp2p/utils';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError, type PresenceState } from '@meshwork/core';
import { decodeMembershipFrame, encodeMembershipFrame } from '@meshwork/core/internal';
import { MEMBERSHIP_PROTOCOL, type RejectReason } from '../src/index.ts';
import { link, lineEdges, startNode, startNodes, stopAll, waitFor, type TestNode } from './support/mesh.ts';
import { startRawPeer, type RawPeer } from './support/raw-peer.ts';

describe('membership over libp2p', () => {
  let nodes: TestNode[] = [];
  const raws: RawPeer[] = [];
  afterEach(async () => {
    await stopAll(nodes);
    nodes = [];
    for (const r of raws.splice(0)) await r.stop();
  });

  // Discovery off: the links are the test's edges and nothing else.
  const line = async (n: number): Promise<TestNode[]> => {
    nodes = await startNodes(n, () => startNode({ topology: { announceMs: 0 } }));
    await link(nodes, lineEdges(n));
    return nodes;
  };

  const allAlive = (ns: TestNode[]) =>
    ns.every((n) => ns.every((m) => n.presence.status(m.replica) === 'alive'));

  it('every node learns every node and its state over several hops', async () => {
    const [a, , , d] = await line(4);
    await waitFor('everyone alive everywhere', () => allAlive(nodes));
    const seen: [string, PresenceState | null][] = [];
    d!.presence.on('presence', (peer, state) => peer === a!.replica && seen.push([peer, state]));
    a!.presence.publish({ wants: { gpu: 1 } });
    // Link changes re-announce a's record too (with the state it had): wait for the new state.
    await waitFor('state three hops away', () => seen.some(([, state]) => state?.['wants'] !== undefined));
    expect(seen.find(([, state]) => state?.['wants'] !== undefined)).toEqual([
      a!.replica,
      { wants: { gpu: 1 } },
    ]);
    expect(d!.presence.peers().get(a!.replica)).toEqual({ wants: { gpu: 1 } });
    expect(() => a!.presence.publish({ blob: 'x'.repeat(20_000) })).toThrow(InvalidArgumentError);
    expect(() => a!.presence.publish([1] as unknown as PresenceState)).toThrow(InvalidArgumentError);
  });

  it("every node knows every member's links, also those it is not on", async () => {
    const [a, b, c, d] = await line(4);
    const expected = new Map([
      [a!.replica, [b!.replica]],
      [b!.replica, [a!.replica, c!.replica].sort()],
      [c!.replica, [b!.replica, d!.replica].sort()],
      [d!.replica, [c!.replica]],
    ]);
    await waitFor('the line everywhere', () =>
      nodes.every(
        (n) =>
          expected.size === n.presence.links().size &&
          [...expected].every(([node, links]) => String(n.presence.links().get(node)) === String(links)),
      ),
    );
    await c!.stop();
    await waitFor('c left, with no links', () => a!.presence.links().get(c!.replica)?.length === 0);
    // b announces its loss of the link to c a moment later.
    await waitFor('b linked to a only', () => String(a!.presence.links().get(b!.replica)) === a!.replica);
  });

  it('a node that crashes becomes unreachable beyond its neighbours; one that stops leaves', async () => {
    const [a, b, c, d] = await line(4);
    await waitFor('everyone alive everywhere', () => allAlive(nodes));
    // No goodbye: the process's connections just close.
    await d!.libp2p.stop();
    await waitFor('d unreachable at a', () => a!.presence.status(d!.replica) === 'unreachable');
    expect(b!.presence.status(d!.replica)).toBe('unreachable');
    await c!.stop();
    await waitFor('c left, at a', () => a!.presence.status(c!.replica) === 'left');
    nodes = [a!, b!];
  });

  it('refuses malformed frames and records that another node did not sign', async () => {
    const limits = { maxBytes: 1 << 20, maxRecords: 500, maxVersions: 500 };
    const [a, b] = await line(2);
    await waitFor('alive', () => allAlive(nodes));
    const raw = await startRawPeer();
    raws.push(raw);
    // What a sends the raw peer on the link it opens, in answer to the raw peer's summary (of an
    // empty table): every record it holds, b's among them.
    const inbound = new Promise<Uint8Array>((resolve, reject) => {
      void raw.handle(MEMBERSHIP_PROTOCOL, (s) => {
        const reader = lpStream(s);
        (async () => {
          for (;;) {
            const frame = (await reader.read()).subarray();
            const decoded = decodeMembershipFrame(frame, limits);
            if (decoded.kind === 'answer' && decoded.records.some((r) => r.node === b!.replica))
              return resolve(frame);
          }
        })().catch(reject);
      });
    });
    await raw.dial(a!.multiaddrs[0]!);
    const rejected = (reason: RejectReason) => a!.metrics.snapshot().rejected[reason];

    const stream = await raw.dialProtocol(a!.peerId, MEMBERSHIP_PROTOCOL);
    const lp = lpStream(stream);
    await lp.write(encodeMembershipFrame({ kind: 'heartbeat', digest: [0, 0], lagMs: 0 }));
    await lp.write(encodeMembershipFrame({ kind: 'summary', versions: [] }));
    await lp.write(new Uint8Array([1, 77]));
    await waitFor('malformed frame', () => rejected('malformed') === 1);

    const table = decodeMembershipFrame(await inbound, limits);
    if (table.kind !== 'answer') throw new Error('expected an answer');
    const recordOfB = table.records.find((r) => r.node === b!.replica)!;
    // A newer record of b that drops its links: a forger cutting b off, signed with b's old proof.
    // Far ahead of b's own incarnation, which may have moved on since the table was sent: a record
    // that does not supersede a's copy is dropped before its signature is looked at.
    const forged = { ...recordOfB, incarnation: recordOfB.incarnation + 1_000_000, links: [] };
    await lp.write(encodeMembershipFrame({ kind: 'records', records: [forged] }));
    await waitFor('forged record', () => rejected('forged-origin') === 1);
    expect(a!.presence.status(b!.replica)).toBe('alive');
  });
});
