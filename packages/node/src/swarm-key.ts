/** The one format libp2p's private networks read: a tag line, the codec line, then the key as hex. */
const HEADER = '/key/swarm/psk/1.0.0/\n/base16/\n';
const HEX_KEY = /^[0-9a-fA-F]{64}$/;

/**
 * A swarm key as the bytes `@libp2p/pnet` expects, from the contents of a swarm key file or from
 * its 64 hex digits alone (the form an environment variable holds easily); `undefined` for
 * anything else.
 */
export function parseSwarmKey(text: string): Uint8Array | undefined {
  const lines = text.trim().split(/\r?\n/);
  const hex = lines.length === 1 ? lines[0] : lines.length === 3 ? lines[2] : undefined;
  if (hex === undefined || !HEX_KEY.test(hex)) return undefined;
  if (lines.length === 3 && `${lines[0]}\n${lines[1]}\n` !== HEADER) return undefined;
  return new TextEncoder().encode(HEADER + hex.toLowerCase());
}
