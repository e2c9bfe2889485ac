import type { PeerId, PrivateKey } from '@libp2p/interface';
import { MeshworkError } from '@meshwork/core';
import { peerIdFromString } from '@libp2p/peer-id';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { MeshConfigError } from './errors.ts';

const DOMAIN = 'meshwork/gossip/1';
const SIGNATURE_BYTES = 64;
const noSignature = new Uint8Array(0);
/** Room an envelope takes around its data, at most: the author's peer id and the signature. */
const ENVELOPE_BYTES = 256;
/** Authors whose public key objects are kept; past this the cache starts over. */
const MAX_CACHED_KEYS = 1024;

/**
 * An opened envelope: who wrote the data, checked against their signature. Without a signature
 * the author is only a claim, which holds when the author itself delivered it (see openReceived).
 */
export interface OpenedGossip {
  readonly author: string;
  readonly data: Uint8Array;
  readonly signed: boolean;
}

/** Why an envelope was refused: `malformed` when it does not parse, `unsigned` when its signature does not hold. */
export class GossipEnvelopeError extends MeshworkError {
  override readonly name = 'GossipEnvelopeError';
  declare readonly code: 'malformed' | 'unsigned';
  readonly reason: 'malformed' | 'unsigned';

  constructor(reason: 'malformed' | 'unsigned', message: string) {
    super(reason, message);
    this.reason = reason;
  }
}

/**
 * Signs gossip payloads for their author and checks them on receipt. Gossipsub runs without its
 * own signatures (`StrictNoSign`): each message carries `author peer id | Ed25519 signature |
 * data`, signed over a domain tag, the topic and the data, so a message cannot be replayed on
 * another topic. The signature may be left out (zero bytes) when the author sends the data
 * straight to every reader: their connection to the author already authenticates it, and only
 * relays need the signature to vouch for an author they are not. The point is cost: libp2p's
 * Ed25519 keys build a Node key object on every sign and every verify, which was a tenth of a
 * busy node's gossip handling; here the node's own key object is built once and authors' public
 * key objects are cached.
 */
export interface GossipEnvelope {
  /** `signed: false` leaves the signature out, for data only sent straight to its readers. */
  seal(topic: string, data: Uint8Array, signed?: boolean): Uint8Array;
  /** Throws GossipEnvelopeError. */
  open(topic: string, envelope: Uint8Array): OpenedGossip;
  /**
   * This node's signature alone over `data` (same domain and topic as `seal`), for data that
   * names its author itself: a membership record carries it beside the record, not around it.
   */
  sign(topic: string, data: Uint8Array): Uint8Array;
  /** Whether `signature` is `author`'s over `data`; an author that is no Ed25519 peer id fails. */
  verify(author: string, topic: string, data: Uint8Array, signature: Uint8Array): boolean;
}

const signedBytes = (topic: string, data: Uint8Array): Uint8Array => {
  const e = encoding.createEncoder();
  encoding.writeVarString(e, DOMAIN);
  encoding.writeVarString(e, topic);
  encoding.writeUint8Array(e, data);
  return encoding.toUint8Array(e);
};

const ed25519Jwk = (publicKey: Uint8Array, seed?: Uint8Array) => ({
  kty: 'OKP',
  crv: 'Ed25519',
  x: Buffer.from(publicKey).toString('base64url'),
  ...(seed !== undefined ? { d: Buffer.from(seed).toString('base64url') } : {}),
});

export function createGossipEnvelope(peerId: PeerId, privateKey: PrivateKey): GossipEnvelope {
  if (privateKey.type !== 'Ed25519') {
    throw new MeshConfigError('privateKey', `gossip signing needs an Ed25519 key, not ${privateKey.type}`);
  }
  const ownKey = createPrivateKey({
    format: 'jwk',
    key: ed25519Jwk(privateKey.publicKey.raw, privateKey.raw.subarray(0, 32)),
  });
  const author = peerId.toString();
  const keys = new Map<string, KeyObject>();

  const publicKeyOf = (id: string): KeyObject => {
    let key = keys.get(id);
    if (key !== undefined) return key;
    let raw: Uint8Array | undefined;
    try {
      const peer = peerIdFromString(id);
      raw = peer.type === 'Ed25519' ? peer.publicKey.raw : undefined;
    } catch {
      raw = undefined;
    }
    if (raw === undefined)
      throw new GossipEnvelopeError('malformed', `author ${id} is not an Ed25519 peer id`);
    key = createPublicKey({ format: 'jwk', key: ed25519Jwk(raw) });
    if (keys.size >= MAX_CACHED_KEYS) keys.clear();
    keys.set(id, key);
    return key;
  };

  return {
    seal(topic, data, signed = true) {
      const e = encoding.createEncoder();
      encoding.writeVarString(e, author);
      encoding.writeVarUint8Array(e, signed ? sign(null, signedBytes(topic, data), ownKey) : noSignature);
      encoding.writeUint8Array(e, data);
      return encoding.toUint8Array(e);
    },
    open(topic, envelope) {
      let id: string;
      let signature: Uint8Array;
      let data: Uint8Array;
      try {
        const d = decoding.createDecoder(envelope);
        id = decoding.readVarString(d);
        signature = decoding.readVarUint8Array(d);
        data = envelope.subarray(d.pos);
      } catch {
        throw new GossipEnvelopeError('malformed', `${envelope.byteLength} bytes: not a gossip envelope`);
      }
      // The author must be an Ed25519 peer id, signed or not (throws `malformed`; cached).
      const key = publicKeyOf(id);
      if (signature.byteLength === 0) return { author: id, data, signed: false };
      if (signature.byteLength !== SIGNATURE_BYTES)
        throw new GossipEnvelopeError('malformed', 'signature cut short');
      if (!verify(null, signedBytes(topic, data), key, signature))
        throw new GossipEnvelopeError('unsigned', `signature of ${id} does not hold`);
      return { author: id, data, signed: true };
    },
    sign: (topic, data) => sign(null, signedBytes(topic, data), ownKey),
    verify(id, topic, data, signature) {
      if (signature.byteLength !== SIGNATURE_BYTES) return false;
      let key: KeyObject;
      try {
        key = publicKeyOf(id);
      } catch (err) {
        if (err instanceof GossipEnvelopeError) return false;
        throw err;
      }
      return verify(null, signedBytes(topic, data), key, signature);
    },
  };
}

/** Why a received message was refused, as the transport's metrics name it. */
export interface Refusal {
  readonly reason: 'oversized' | 'malformed' | 'unsigned';
  readonly detail: string;
}

/**
 * Opens a received gossip message whose data may hold at most `maxDataBytes`: its author and
 * data, or why it was refused. Shared by the Document and presence topics.
 */
export function openReceived(
  envelope: GossipEnvelope,
  topic: string,
  message: Uint8Array,
  maxDataBytes: number,
  /**
   * The peer that delivered it, authenticated by the connection. An unsigned envelope is
   * accepted only from its author; without `from`, only signed ones are.
   */
  from?: string,
): OpenedGossip | Refusal {
  // Checked before the signature, so an oversized message costs no verification.
  if (message.byteLength > maxDataBytes + ENVELOPE_BYTES)
    return { reason: 'oversized', detail: `${message.byteLength} bytes` };
  let opened: OpenedGossip;
  try {
    opened = envelope.open(topic, message);
  } catch (err) {
    if (!(err instanceof GossipEnvelopeError)) throw err;
    return { reason: err.reason, detail: err.message };
  }
  if (!opened.signed && opened.author !== from)
    return {
      reason: 'unsigned',
      detail:
        from === undefined ? 'no signature' : `no signature, and ${from} is not its author ${opened.author}`,
    };
  if (opened.data.byteLength > maxDataBytes)
    return { reason: 'oversized', detail: `${opened.data.byteLength} bytes of data` };
  return opened;
}
