import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { KeyFileError } from './errors.ts';

/**
 * Loads the node's Ed25519 identity from `path`, or creates one and saves it
 * there (mode 0600, written atomically) when the file does not exist yet. The
 * key's peer id is the node's replica id, so keeping the file keeps the
 * replica's identity across restarts.
 */
export async function loadOrCreateIdentity(path: string): Promise<PrivateKey> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new KeyFileError(path, 'cannot read the key file', { cause: err });
    }
    const key = await generateKeyPair('Ed25519');
    await saveIdentity(path, key);
    return key;
  }
  let key: PrivateKey;
  try {
    key = privateKeyFromProtobuf(bytes);
  } catch (err) {
    throw new KeyFileError(path, 'not a libp2p private key (protobuf)', { cause: err });
  }
  if (key.type !== 'Ed25519') {
    throw new KeyFileError(path, `expected an Ed25519 key, found ${key.type}`);
  }
  return key;
}

/** Writes `key` to `path` (protobuf, as libp2p marshals keys), readable by the owner only. */
export async function saveIdentity(path: string, key: PrivateKey): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(tmp, privateKeyToProtobuf(key), { mode: 0o600 });
    await rename(tmp, path);
  } catch (err) {
    throw new KeyFileError(path, 'cannot write the key file', { cause: err });
  }
}
