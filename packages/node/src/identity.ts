import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import type { ResolvedConfig } from './config.ts';
import type { NodeStore } from './store.ts';

const NODE_KEY = 'node-key';

/** The node's Ed25519 key, kept in the store: its peer id is the replica id, stable across restarts. */
export async function nodeKey(store: NodeStore): Promise<PrivateKey> {
  const saved = store.getMeta(NODE_KEY);
  if (saved !== undefined) return privateKeyFromProtobuf(saved);
  const key = await generateKeyPair('Ed25519');
  store.setMeta(NODE_KEY, privateKeyToProtobuf(key));
  return key;
}

/** The configured API key, else the one kept in `<dataDir>/api-key`, else a new one written there (mode 0600). */
export function apiKeyFor(config: ResolvedConfig): string {
  if (config.apiKey !== undefined) return config.apiKey;
  const file = join(config.dataDir, 'api-key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const key = randomBytes(24).toString('base64url');
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return key;
}
