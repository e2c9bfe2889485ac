import { generateKey } from '@libp2p/pnet';

/** A new private-network key, in the `/key/swarm/psk/1.0.0/` format `psk` expects. Share it out of band. */
export function createSwarmKey(): Uint8Array {
  const key = new Uint8Array(95);
  generateKey(key);
  return key;
}
