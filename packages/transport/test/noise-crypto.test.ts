import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto';
import { randomBytes } from 'node:crypto';
import { Uint8ArrayList } from 'uint8arraylist';
import { describe, expect, it } from 'vitest';
import { noiseCrypto } from '../src/noise-crypto.ts';

/** A plain copy, so that results from either crypto compare by their bytes alone. */
const bytes = (data: Uint8Array | Uint8ArrayList): Uint8Array =>
  Uint8Array.from(data instanceof Uint8Array ? data : data.subarray());

/** Splits a payload into a list of uneven pieces, as a frame arrives from a socket. */
const asList = (data: Uint8Array): Uint8ArrayList => {
  const list = new Uint8ArrayList();
  for (let i = 0; i < data.byteLength; i += 1_000) list.append(data.subarray(i, i + 1_000));
  return list;
};

const nonce = (n: number): Uint8Array => {
  const out = new Uint8Array(12);
  new DataView(out.buffer).setUint32(4, n, true);
  return out;
};

// Around the size where Node's cipher takes over, and a frame's largest payload.
const SIZES = [0, 100, 1_199, 1_200, 1_201, 4_000, 65_519];

describe('noiseCrypto', () => {
  const crypto = noiseCrypto();

  it('seals every frame size to the bytes the default crypto writes, from arrays and lists', () => {
    const k = randomBytes(32);
    const ad = randomBytes(32);
    for (const [i, size] of SIZES.entries()) {
      const plaintext = randomBytes(size);
      const expected = bytes(defaultCrypto.chaCha20Poly1305Encrypt(plaintext, nonce(i), ad, k));
      expect(bytes(crypto.chaCha20Poly1305Encrypt(plaintext, nonce(i), ad, k))).toEqual(expected);
      expect(bytes(crypto.chaCha20Poly1305Encrypt(asList(plaintext), nonce(i), ad, k))).toEqual(expected);
    }
  });

  it('opens what the default crypto sealed, and the other way round', () => {
    const k = randomBytes(32);
    const ad = new Uint8Array(0);
    for (const [i, size] of SIZES.entries()) {
      const plaintext = randomBytes(size);
      const theirs = bytes(defaultCrypto.chaCha20Poly1305Encrypt(plaintext, nonce(i), ad, k));
      expect(bytes(crypto.chaCha20Poly1305Decrypt(theirs, nonce(i), ad, k)), `size ${size}`).toEqual(
        Uint8Array.from(plaintext),
      );
      expect(bytes(crypto.chaCha20Poly1305Decrypt(asList(theirs), nonce(i), ad, k))).toEqual(
        Uint8Array.from(plaintext),
      );
      const ours = bytes(crypto.chaCha20Poly1305Encrypt(plaintext, nonce(i), ad, k));
      expect(bytes(defaultCrypto.chaCha20Poly1305Decrypt(ours, nonce(i), ad, k))).toEqual(
        Uint8Array.from(plaintext),
      );
    }
  });

  it('keeps the sessions of one node apart: each key array seals with its own key', () => {
    const sessions = [randomBytes(32), randomBytes(32), randomBytes(32)];
    const plaintext = randomBytes(4_000);
    for (let round = 0; round < 3; round++)
      for (const k of sessions) {
        const sealed = bytes(crypto.chaCha20Poly1305Encrypt(plaintext, nonce(round), new Uint8Array(0), k));
        expect(sealed).toEqual(
          bytes(defaultCrypto.chaCha20Poly1305Encrypt(plaintext, nonce(round), new Uint8Array(0), k)),
        );
      }
  });

  it('refuses a frame whose bytes, tag or nonce do not match', () => {
    const k = randomBytes(32);
    const ad = new Uint8Array(0);
    for (const size of [100, 4_000]) {
      const sealed = bytes(crypto.chaCha20Poly1305Encrypt(randomBytes(size), nonce(7), ad, k));
      const flipped = Uint8Array.from(sealed);
      flipped[size >> 1]! ^= 1;
      expect(() => crypto.chaCha20Poly1305Decrypt(flipped, nonce(7), ad, k)).toThrow();
      const badTag = Uint8Array.from(sealed);
      badTag[badTag.byteLength - 1]! ^= 1;
      expect(() => crypto.chaCha20Poly1305Decrypt(badTag, nonce(7), ad, k)).toThrow();
      expect(() => crypto.chaCha20Poly1305Decrypt(sealed, nonce(8), ad, k)).toThrow();
    }
  });
});
