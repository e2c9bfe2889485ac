import { generateKeyPair } from '@libp2p/crypto/keys';
import type { GossipSub } from '@libp2p/gossipsub';
import type { Libp2p } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startPeerAnnouncer } from '../src/peer-announcer.ts';

/** A node whose pubsub records when it publishes, in seconds since the start. */
async function fakeNode() {
  const peerId = peerIdFromPrivateKey(await generateKeyPair('Ed25519'));
  const published: number[] = [];
  const start = performance.now();
  const pubsub = {
    getSubscribers: () => [peerId],
    publish: () => {
      published.push(Math.round((performance.now() - start) / 1000));
      return Promise.resolve({ recipients: [] });
    },
  };
  const libp2p = { peerId, services: { pubsub }, getMultiaddrs: () => [] };
  return { libp2p: libp2p as unknown as Libp2p<{ pubsub: GossipSub }>, published };
}

/** An announcer every 20 s while short of links, else every 160 s, on fake timers. */
async function announcing(shortOfLinks: () => boolean) {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
  const { libp2p, published } = await fakeNode();
  const announcer = startPeerAnnouncer(libp2p, { topic: 't', baseMs: 20_000, maxMs: 160_000, shortOfLinks });
  return { announcer, published };
}

describe('peer announcer', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('announces every baseMs while the links change, then every maxMs once they stayed the same', async () => {
    const { announcer, published } = await announcing(() => true);
    await vi.advanceTimersByTimeAsync(350_000);
    // At once; 20 s later with the same links; from then on at the slow rate.
    expect(published).toEqual([0, 20, 180, 340]);
    // A link changes at 350 s: the next announcement is 20 s after the last one, at the latest.
    announcer.linksChanged();
    await vi.advanceTimersByTimeAsync(25_000);
    expect(published).toEqual([0, 20, 180, 340, 360]);
    await vi.advanceTimersByTimeAsync(200_000);
    expect(published).toEqual([0, 20, 180, 340, 360, 380, 540]);
    announcer.stop();
    await vi.advanceTimersByTimeAsync(400_000);
    expect(published).toHaveLength(7);
  });

  it('does not speed up for link changes of a node with all the links it keeps', async () => {
    let short = false;
    const { announcer, published } = await announcing(() => short);
    await vi.advanceTimersByTimeAsync(100_000);
    expect(published).toEqual([0, 20]);
    // Links come and go at 100 s while the node keeps enough of them (a partition heals): the
    // next announcement stays at the slow rate.
    announcer.linksChanged();
    await vi.advanceTimersByTimeAsync(100_000);
    expect(published).toEqual([0, 20, 180]);
    // It drops below the links it keeps at 200 s: announced at once, 20 s after the last.
    short = true;
    announcer.linksChanged();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(published).toEqual([0, 20, 180, 200]);
    announcer.stop();
  });
});
