import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { gossipsub, type GossipSub } from '@libp2p/gossipsub';
import { identify } from '@libp2p/identify';
import type { Libp2p, PeerId } from '@libp2p/interface';
import { tcp } from '@libp2p/tcp';
import { createLibp2p } from 'libp2p';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { createGossipEnvelope, type GossipEnvelope } from '../../src/gossip-envelope.ts';
import { waitFor } from './mesh.ts';

/** A plain libp2p peer that speaks our protocols by hand, to misbehave on purpose. */
export type RawPeer = Libp2p<{ identify: unknown; pubsub: GossipSub }> & {
  /** Signs gossip as this peer, the way Meshwork nodes do. */
  readonly envelope: GossipEnvelope;
};

export async function startRawPeer(): Promise<RawPeer> {
  const privateKey = await generateKeyPair('Ed25519');
  const node = await createLibp2p({
    privateKey,
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      pubsub: gossipsub({ globalSignaturePolicy: 'StrictNoSign', allowPublishToZeroTopicPeers: true }),
    },
  });
  return Object.assign(node, { envelope: createGossipEnvelope(node.peerId, privateKey) });
}

/**
 * Publishes once `target` is known to be subscribed to `topic`: `data` signed by the raw peer,
 * or, with `sealed: false`, `data` as it is.
 */
export async function publishTo(
  raw: RawPeer,
  target: PeerId,
  topic: string,
  data: Uint8Array,
  { sealed = true } = {},
): Promise<void> {
  raw.services.pubsub.subscribe(topic);
  await waitFor(`${target.toString()} on ${topic}`, () =>
    raw.services.pubsub.getSubscribers(topic).some((p) => p.equals(target)),
  );
  await raw.services.pubsub.publish(topic, sealed ? raw.envelope.seal(topic, data) : data);
}
