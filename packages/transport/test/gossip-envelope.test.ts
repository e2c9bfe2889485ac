import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { describe, expect, it } from 'vitest';
import { MeshConfigError } from '../src/index.ts';
import { createGossipEnvelope, GossipEnvelopeError } from '../src/internal.ts';
import { openReceived } from '../src/gossip-envelope.ts';

async function author() {
  const key = await generateKeyPair('Ed25519');
  const peerId = peerIdFromPrivateKey(key);
  return { peerId, envelope: createGossipEnvelope(peerId, key) };
}

const reason = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    if (err instanceof GossipEnvelopeError) return err.reason;
    throw err;
  }
  return undefined;
};

describe('gossip envelope', () => {
  it('opens what its author sealed, naming the author, on any node', async () => {
    const a = await author();
    const b = await author();
    const data = new Uint8Array([1, 2, 3, 250]);
    const sealed = a.envelope.seal('meshwork/doc/3/tasks', data);
    expect(b.envelope.open('meshwork/doc/3/tasks', sealed)).toEqual({
      author: a.peerId.toString(),
      data,
      signed: true,
    });
    expect(b.envelope.open('t', b.envelope.seal('t', new Uint8Array(0))).data).toEqual(new Uint8Array(0));
  });

  it('a bare signature holds for its author, topic and data only', async () => {
    const a = await author();
    const b = await author();
    const data = new Uint8Array([9, 8, 7]);
    const signature = a.envelope.sign('meshwork/members/2', data);
    expect(signature.byteLength).toBe(64);
    const id = a.peerId.toString();
    expect(b.envelope.verify(id, 'meshwork/members/2', data, signature)).toBe(true);
    expect(b.envelope.verify(b.peerId.toString(), 'meshwork/members/2', data, signature)).toBe(false);
    expect(b.envelope.verify(id, 'meshwork/members/1', data, signature)).toBe(false);
    expect(b.envelope.verify(id, 'meshwork/members/2', new Uint8Array([9, 8, 6]), signature)).toBe(false);
    expect(b.envelope.verify(id, 'meshwork/members/2', data, signature.subarray(1))).toBe(false);
    expect(b.envelope.verify('not-a-peer-id', 'meshwork/members/2', data, signature)).toBe(false);
  });

  it('refuses altered data, another topic, a borrowed author, and bytes that are no envelope', async () => {
    const a = await author();
    const b = await author();
    const sealed = a.envelope.seal('t', new Uint8Array([7, 7, 7]));
    const altered = sealed.slice();
    altered[altered.length - 1] = 8;
    expect(reason(() => b.envelope.open('t', altered))).toBe('unsigned');
    expect(reason(() => b.envelope.open('other', sealed))).toBe('unsigned');
    // b's signature under a's name: the author field swapped for another id of the same length.
    const byB = b.envelope.seal('t', new Uint8Array([7, 7, 7]));
    const aId = new TextEncoder().encode(a.peerId.toString());
    const forged = byB.slice();
    forged.set(aId, 1);
    expect(reason(() => b.envelope.open('t', forged))).toBe('unsigned');
    expect(reason(() => b.envelope.open('t', new Uint8Array([1, 2, 3])))).toBe('malformed');
    expect(reason(() => b.envelope.open('t', sealed.subarray(0, 40)))).toBe('malformed');
    // Cut short inside a larger buffer: the bytes after the view are not part of it.
    const inBuffer = new Uint8Array(1024);
    inBuffer.set(sealed);
    expect(reason(() => b.envelope.open('t', inBuffer.subarray(0, 80)))).toBe('malformed');
    const notAPeer = new Uint8Array([5, 104, 101, 108, 108, 111, 64, ...new Uint8Array(64)]);
    expect(reason(() => b.envelope.open('t', notAPeer))).toBe('malformed');
  });

  it('leaves the signature out on request; such an envelope holds only from its author', async () => {
    const a = await author();
    const b = await author();
    const data = new Uint8Array([9, 9]);
    const bare = a.envelope.seal('t', data, false);
    expect(bare.byteLength).toBe(a.envelope.seal('t', data).byteLength - 64);
    expect(b.envelope.open('t', bare)).toEqual({ author: a.peerId.toString(), data, signed: false });
    const aId = a.peerId.toString();
    expect(openReceived(b.envelope, 't', bare, 1024, aId)).toEqual({ author: aId, data, signed: false });
    expect(openReceived(b.envelope, 't', bare, 1024, b.peerId.toString())).toMatchObject({
      reason: 'unsigned',
    });
    expect(openReceived(b.envelope, 't', bare, 1024)).toMatchObject({ reason: 'unsigned' });
    // A signed envelope holds whoever relays it.
    const signed = a.envelope.seal('t', data);
    expect(openReceived(b.envelope, 't', signed, 1024, b.peerId.toString())).toMatchObject({ signed: true });
  });

  it('needs an Ed25519 key', async () => {
    const key = await generateKeyPair('secp256k1');
    expect(() => createGossipEnvelope(peerIdFromPrivateKey(key), key)).toThrow(MeshConfigError);
  });
});
