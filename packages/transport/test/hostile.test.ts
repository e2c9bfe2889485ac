import { lpStream, byteStream } from '@libp2p/utils';
import * as encoding from 'lib0/encoding';
import { afterEach, describe, expect, it } from 'vitest';
import { documentTopic, SYNC_PROTOCOL, type RejectReason } from '../src/index.ts';
import { encodeSyncFrame } from '../src/internal.ts';
import { createDocument, encodeDigest, type Document } from '@meshwork/core';
import { getKey, setKey, startNode, stopAll, waitFor, type TestNode } from './support/mesh.ts';
import { publishTo, startRawPeer, type RawPeer } from './support/raw-peer.ts';

const MAX_FRAME = 16 * 1024;

/** The update message of one write by `replica`. */
/** The update of `replica` that sets `key`, as its event number `1 + earlier`. */
function updateOf(replica: string, key: string, value: string, earlier = 0): Uint8Array {
  const doc: Document = createDocument({ name: 'tasks', replica });
  for (let i = 0; i < earlier; i++) setKey(doc, `earlier-${i}`, i);
  let update: Uint8Array | undefined;
  doc.on('change', (c) => (update = c.update));
  setKey(doc, key, value);
  return update!;
}
const MAX_GOSSIP = 8 * 1024;

describe('a hostile raw libp2p peer', () => {
  const nodes: TestNode[] = [];
  const raws: RawPeer[] = [];
  afterEach(async () => {
    await stopAll(nodes.splice(0));
    for (const r of raws.splice(0)) await r.stop();
  });

  const setup = async (): Promise<{ a: TestNode; b: TestNode; raw: RawPeer }> => {
    const limits = {
      maxFrameBytes: MAX_FRAME,
      maxStreamBufferBytes: MAX_FRAME * 2,
      maxGossipBytes: MAX_GOSSIP,
    };
    const a = await startNode({ limits });
    const b = await startNode({ limits, bootstrap: [a.multiaddrs[0]!] });
    const raw = await startRawPeer();
    nodes.push(a, b);
    raws.push(raw);
    a.document('tasks');
    b.document('tasks');
    await raw.dial(a.multiaddrs[0]!);
    return { a, b, raw };
  };

  const rejected = (n: TestNode, reason: RejectReason): number => n.metrics.snapshot().rejected[reason];

  const stillWorks = async (a: TestNode, b: TestNode, key: string): Promise<void> => {
    setKey(b.document('tasks'), key, 'ok');
    await waitFor(`${key} reaches a`, () => getKey(a.document('tasks'), key) === 'ok');
    setKey(a.document('tasks'), `${key}-back`, 'ok');
    await waitFor(`${key} reaches b`, () => getKey(b.document('tasks'), `${key}-back`) === 'ok');
  };

  it('malformed, truncated, oversized and out-of-order sync frames are dropped and counted', async () => {
    const { a, b, raw } = await setup();

    // Garbage where a frame should be.
    let stream = await raw.dialProtocol(a.peerId, SYNC_PROTOCOL);
    await lpStream(stream).write(new Uint8Array([9, 9, 9, 9]));
    await waitFor('malformed', () => rejected(a, 'malformed') === 1);

    // A length prefix promising 100 bytes, 10 delivered, then the stream closes.
    stream = await raw.dialProtocol(a.peerId, SYNC_PROTOCOL);
    await byteStream(stream).write(new Uint8Array([100, ...new Uint8Array(10)]));
    await stream.close();
    await waitFor('truncated', () => rejected(a, 'truncated') === 1);

    // A frame over the cap: refused from its length prefix, before it is buffered.
    stream = await raw.dialProtocol(a.peerId, SYNC_PROTOCOL);
    const big = encodeSyncFrame({ kind: 'digest', document: 'tasks', digest: new Uint8Array(MAX_FRAME + 1) });
    await lpStream(stream, { maxDataLength: 10 * MAX_FRAME })
      .write(big)
      .catch(() => undefined);
    await waitFor('oversized', () => rejected(a, 'oversized') === 1);

    // An update before any digest exchange.
    stream = await raw.dialProtocol(a.peerId, SYNC_PROTOCOL);
    await lpStream(stream).write(
      encodeSyncFrame({ kind: 'update', document: 'tasks', update: new Uint8Array(3) }),
    );
    await waitFor('protocol violation', () => rejected(a, 'protocol-violation') === 1);

    // Endless digests of Documents that do not exist.
    stream = await raw.dialProtocol(a.peerId, SYNC_PROTOCOL);
    const flood = lpStream(stream);
    for (let i = 0; i <= 4096; i++) {
      const frame = encodeSyncFrame({ kind: 'digest', document: `nope-${i}`, digest: new Uint8Array(1) });
      await flood.write(frame).catch(() => undefined);
    }
    await waitFor('digest flood', () => rejected(a, 'protocol-violation') === 2);

    // A well-formed round whose update does not decode.
    stream = await raw.dialProtocol(a.peerId, SYNC_PROTOCOL);
    const lp = lpStream(stream);
    const empty = createDocument({ name: 'tasks', replica: raw.peerId.toString() });
    await lp.write(
      encodeSyncFrame({
        kind: 'digest',
        document: 'tasks',
        digest: encodeDigest(empty.digest()),
      }),
    );
    await lp.write(encodeSyncFrame({ kind: 'end' }));
    for (let ends = 0; ends < 1;) {
      const frame = (await lp.read()).subarray();
      if (frame[1] === 4) ends++;
    }
    await lp.write(
      encodeSyncFrame({ kind: 'update', document: 'tasks', update: new Uint8Array([1, 1, 200]) }),
    );
    await waitFor('invalid update', () => rejected(a, 'invalid-update') === 1);

    expect(a.peers()).toContain(b.replica);
    await stillWorks(a, b, 'after-sync-attacks');
  });

  it('malformed, oversized and forged-origin gossip is rejected; honest gossip from it is applied', async () => {
    const { a, b, raw } = await setup();
    const topic = documentTopic('tasks');
    await publishTo(raw, a.peerId, topic, new Uint8Array([1, 2, 3]));
    await waitFor('malformed gossip', () => rejected(a, 'malformed') === 1);

    await publishTo(raw, a.peerId, topic, new Uint8Array(MAX_GOSSIP + 1000));
    await waitFor('oversized gossip', () => rejected(a, 'oversized') === 1);

    // Not in a signed envelope; in one whose data was altered; in one signed for another topic.
    const honest = updateOf(raw.peerId.toString(), 'tampered', 'yes');
    await publishTo(raw, a.peerId, topic, honest, { sealed: false });
    await waitFor('gossip outside an envelope', () => rejected(a, 'malformed') === 2);
    const tampered = raw.envelope.seal(topic, honest);
    tampered[tampered.length - 1]! ^= 1;
    await publishTo(raw, a.peerId, topic, tampered, { sealed: false });
    await waitFor('tampered gossip', () => rejected(a, 'unsigned') === 1);
    await publishTo(raw, a.peerId, topic, raw.envelope.seal(documentTopic('other'), honest), {
      sealed: false,
    });
    await waitFor('gossip signed for another topic', () => rejected(a, 'unsigned') === 2);
    expect(getKey(a.document('tasks'), 'tampered')).toBeUndefined();

    // Events that claim to be b's, signed by the raw peer.
    await publishTo(raw, a.peerId, topic, updateOf(b.replica, 'owned', 'by-forger'));
    await waitFor('forged origin', () => rejected(a, 'forged-origin') === 1);
    expect(getKey(a.document('tasks'), 'owned')).toBeUndefined();

    // Its own events, properly signed, are fine.
    await publishTo(raw, a.peerId, topic, updateOf(raw.peerId.toString(), 'honest', 'yes'));
    await waitFor('honest gossip applied', () => getKey(a.document('tasks'), 'honest') === 'yes');

    // Unsigned envelopes hold only when their author delivers them: not when naming b as author,
    const asB = encoding.createEncoder();
    encoding.writeVarString(asB, b.replica);
    encoding.writeVarUint8Array(asB, new Uint8Array(0));
    encoding.writeUint8Array(asB, updateOf(b.replica, 'relayed', 'by-forger'));
    await publishTo(raw, a.peerId, topic, encoding.toUint8Array(asB), { sealed: false });
    await waitFor('unsigned gossip relayed for another', () => rejected(a, 'unsigned') === 3);
    expect(getKey(a.document('tasks'), 'relayed')).toBeUndefined();
    // but when sent by the raw peer as itself.
    // (Its event 1 was the honest write above.)
    const direct = raw.envelope.seal(topic, updateOf(raw.peerId.toString(), 'direct', 'yes', 1), false);
    await publishTo(raw, a.peerId, topic, direct, { sealed: false });
    await waitFor('unsigned gossip from its author', () => getKey(a.document('tasks'), 'direct') === 'yes');

    await stillWorks(a, b, 'after-gossip-attacks');
  });
});
