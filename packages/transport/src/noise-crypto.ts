import type { ICryptoInterface } from '@chainsafe/libp2p-noise';
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto';
import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject } from 'node:crypto';
import { Uint8ArrayList } from 'uint8arraylist';

const ALGORITHM = 'chacha20-poly1305';
const TAG_BYTES = 16;
/**
 * Below this many bytes the library's WebAssembly cipher is faster than Node's; from it on, Node's
 * (the threshold `defaultCrypto` uses).
 */
const NODE_CIPHER_FROM_BYTES = 1200;

/**
 * The Noise crypto of libp2p-noise's default, with each session key turned into a `KeyObject`
 * once instead of at every frame. Given raw key bytes, `createCipheriv` first tests whether they
 * are a `KeyObject` by catching a thrown error: about two thirds of the cost of sealing a 4 KB
 * frame (docs/design/frame-writes.md). Same algorithm, same bytes on the wire.
 */
export function noiseCrypto(): ICryptoInterface {
  // A session's CipherState passes the same key array with every frame; keyed weakly, a closed
  // session's entry goes with it.
  const keys = new WeakMap<Uint8Array, KeyObject>();
  const keyOf = (k: Uint8Array): KeyObject => {
    let key = keys.get(k);
    if (key === undefined) {
      key = createSecretKey(k);
      keys.set(k, key);
    }
    return key;
  };
  return {
    ...defaultCrypto,
    chaCha20Poly1305Encrypt(plaintext, nonce, ad, k) {
      if (plaintext.byteLength < NODE_CIPHER_FROM_BYTES)
        return defaultCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, k);
      const cipher = createCipheriv(ALGORITHM, keyOf(k), nonce, { authTagLength: TAG_BYTES });
      cipher.setAAD(ad, { plaintextLength: plaintext.byteLength });
      const out = new Uint8ArrayList();
      for (const chunk of chunksOf(plaintext)) out.append(cipher.update(chunk));
      appendFinal(out, cipher.final());
      out.append(cipher.getAuthTag());
      return out;
    },
    chaCha20Poly1305Decrypt(ciphertext, nonce, ad, k, dst) {
      if (ciphertext.byteLength < NODE_CIPHER_FROM_BYTES + TAG_BYTES)
        return defaultCrypto.chaCha20Poly1305Decrypt(ciphertext, nonce, ad, k, dst);
      const end = ciphertext.byteLength - TAG_BYTES;
      const decipher = createDecipheriv(ALGORITHM, keyOf(k), nonce, { authTagLength: TAG_BYTES });
      decipher.setAAD(ad, { plaintextLength: end });
      decipher.setAuthTag(ciphertext.subarray(end));
      const body =
        ciphertext instanceof Uint8Array ? ciphertext.subarray(0, end) : ciphertext.sublist(0, end);
      const out = new Uint8ArrayList();
      for (const chunk of chunksOf(body)) out.append(decipher.update(chunk));
      // Throws when the tag does not authenticate the frame, as the default's does.
      appendFinal(out, decipher.final());
      return out;
    },
  };
}

/** A stream cipher holds nothing back: its `final()` is empty, but is called for the tag check. */
function appendFinal(out: Uint8ArrayList, last: Uint8Array): void {
  if (last.byteLength > 0) out.append(last);
}

function chunksOf(data: Uint8Array | Uint8ArrayList): Iterable<Uint8Array> {
  return data instanceof Uint8Array ? [data] : data;
}
