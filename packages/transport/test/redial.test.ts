import { generateKeyPair } from '@libp2p/crypto/keys';
import type { Libp2p, PeerId } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRedialer } from '../src/redial.ts';

/** Just what the redial loop uses of libp2p: connections, dials and disconnect events. */
function fakeLibp2p() {
  const connected = new Set<string>();
  const dials: string[] = [];
  const events = new EventTarget();
  const libp2p = {
    getConnections: () => [...connected].map((p) => ({ remotePeer: { toString: () => p } })),
    dial(peer: PeerId) {
      dials.push(peer.toString());
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
  return { libp2p, connected, dials, lose };
}

describe('redial', () => {
  afterEach(() => vi.useRealTimers());

  it('takes a lost peer back only while the node wants more links', async () => {
    vi.useFakeTimers();
    const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'));
    const net = fakeLibp2p();
    net.connected.add(peer.toString());
    let wantsMore = false;
    const retries: number[] = [];
    const redialer = createRedialer(net.libp2p, {
      baseMs: 500,
      maxMs: 30_000,
      reconnectMaxMs: 1000,
      reconnectWindowMs: 300_000,
      maxKnownPeers: 10,
      wantsMore: () => wantsMore,
      onRetry: (_target, delayMs) => retries.push(delayMs),
    });
    redialer.watchPeer(peer);
    await vi.advanceTimersByTimeAsync(10);
    expect(net.dials).toEqual([]);

    // Lost, as a link across a partition is, while the node has made its links up since.
    net.lose(peer);
    await vi.advanceTimersByTimeAsync(5000);
    expect(net.dials).toEqual([]);
    // The first retry was scheduled; the looks while not wanted count as none.
    expect(retries).toHaveLength(1);

    // Short of links again: dialled within the reconnect cap.
    wantsMore = true;
    await vi.advanceTimersByTimeAsync(1000);
    expect(net.dials).toEqual([peer.toString()]);
    redialer.stop();
  });
});
