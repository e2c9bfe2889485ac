import { generateKeyPair } from '@libp2p/crypto/keys';
import type { Libp2p, PeerId } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createRedialer, type LinkNeed } from '../src/redial.ts';

/** Just what the redial loop uses of libp2p: connections, dials and disconnect events. */
function fakeLibp2p() {
  const connected = new Set<string>();
  const dials: string[] = [];
  const dialledAt: number[] = [];
  const events = new EventTarget();
  const libp2p = {
    getConnections: () => [...connected].map((p) => ({ remotePeer: { toString: () => p } })),
    dial(peer: PeerId) {
      dials.push(peer.toString());
      dialledAt.push(performance.now());
      connected.add(peer.toString());
      return Promise.resolve({ remotePeer: peer });
    },
    addEventListener: events.addEventListener.bind(events),
    removeEventListener: events.removeEventListener.bind(events),
  } as unknown as Libp2p;
  const lose = (peer: PeerId) => {
    connected.delete(peer.toString());
    events.dispatchEvent(new CustomEvent('peer:disconnect', { detail: peer }));
  };
  return { libp2p, connected, dials, dialledAt, lose };
}

const options = {
  baseMs: 500,
  maxMs: 30_000,
  reconnectMaxMs: 1000,
  reconnectWindowMs: 300_000,
  maxKnownPeers: 10,
};

async function peers(n: number): Promise<PeerId[]> {
  return Promise.all(
    Array.from({ length: n }, async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))),
  );
}

/** A node linked to `n` peers that loses them all at once, as across a partition. */
async function cutOff(n: number, need?: LinkNeed) {
  const lost = await peers(n);
  const net = fakeLibp2p();
  const redialer = createRedialer(net.libp2p, { ...options, ...(need !== undefined ? { need } : {}) });
  for (const p of lost) {
    net.connected.add(p.toString());
    redialer.watchPeer(p);
  }
  await vi.advanceTimersByTimeAsync(10);
  for (const p of lost) net.lose(p);
  return { lost, net, redialer };
}

describe('redial', () => {
  // The loop spaces its dials by performance.now(), so the fake clock must drive it too.
  beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] }));
  afterEach(() => vi.useRealTimers());

  it('leaves a lost peer it reaches otherwise to the topology, unless the node is short of links', async () => {
    const [peer] = await peers(1);
    const net = fakeLibp2p();
    net.connected.add(peer!.toString());
    let short = false;
    const retries: number[] = [];
    const redialer = createRedialer(net.libp2p, {
      ...options,
      need: { shortOfLinks: () => short, reachedOtherwise: () => true },
      onRetry: (_target, delayMs) => retries.push(delayMs),
    });
    redialer.watchPeer(peer!);
    await vi.advanceTimersByTimeAsync(10);
    expect(net.dials).toEqual([]);

    // Lost, while the node has enough links and still reaches the peer through others.
    net.lose(peer!);
    await vi.advanceTimersByTimeAsync(5000);
    expect(net.dials).toEqual([]);
    // The first retry was scheduled; the looks while not wanted count as none.
    expect(retries).toHaveLength(1);

    // Short of links: dialled within the reconnect cap.
    short = true;
    await vi.advanceTimersByTimeAsync(1000);
    expect(net.dials).toEqual([peer!.toString()]);
    redialer.stop();
  });

  it('takes back links to peers it reaches no other way one per reconnect cap', async () => {
    const { lost, net, redialer } = await cutOff(4, {
      shortOfLinks: () => false,
      reachedOtherwise: () => false,
    });
    await vi.advanceTimersByTimeAsync(600);
    expect(net.dials).toHaveLength(1);

    await vi.advanceTimersByTimeAsync(10_000);
    expect(new Set(net.dials)).toEqual(new Set(lost.map(String)));
    const gaps = net.dialledAt.slice(1).map((t, i) => t - net.dialledAt[i]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(1000);
    redialer.stop();
  });

  it('after a partition heals, one link across is taken back and the peers behind it are not', async () => {
    const reached = new Set<string>();
    const { lost, net, redialer } = await cutOff(5, {
      shortOfLinks: () => false,
      reachedOtherwise: (p) => reached.has(p),
    });
    await vi.advanceTimersByTimeAsync(600);
    expect(net.dials).toHaveLength(1);
    // The link across brought the other side's records: every lost peer is reached through it.
    for (const p of lost) reached.add(p.toString());
    await vi.advanceTimersByTimeAsync(10_000);
    expect(net.dials).toHaveLength(1);
    redialer.stop();
  });

  it('without a link need, takes every lost peer back within the cap', async () => {
    const { lost, net, redialer } = await cutOff(3);
    await vi.advanceTimersByTimeAsync(600);
    expect(new Set(net.dials)).toEqual(new Set(lost.map(String)));
    redialer.stop();
  });
});
