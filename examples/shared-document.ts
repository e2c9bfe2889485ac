/**
 * Two processes share a Document over the mesh. Run the host, which prints its multiaddr, then a
 * guest with that multiaddr; each adds its name to a shared set and waits to see the other's:
 *
 *   node examples/shared-document.ts                 # host: prints /ip4/127.0.0.1/tcp/…/p2p/…
 *   node examples/shared-document.ts <multiaddr>     # guest, in another terminal
 *
 * Both print the set once it holds both names, and exit.
 */
import { fileURLToPath } from 'node:url';
import { createMeshNode } from '@meshwork/transport';

export async function sharedDocument(
  bootstrap: string | undefined,
  log: (line: string) => void = console.log,
): Promise<string[]> {
  const role = bootstrap === undefined ? 'host' : 'guest';
  const node = await createMeshNode(bootstrap === undefined ? {} : { bootstrap: [bootstrap] });
  try {
    if (role === 'host') log(`multiaddr ${node.multiaddrs[0]!.toString()}`);
    const doc = node.document('notes');
    const present = doc.orset<string>('present');
    present.add(role);
    const other = role === 'host' ? 'guest' : 'host';
    while (!present.has(other))
      await new Promise<void>((resolve) => {
        const changed = (): void => {
          doc.off('change', changed);
          resolve();
        };
        doc.on('change', changed);
      });
    const names = [...present.values()].sort();
    log(`present ${names.join(',')}`);
    // The guest stays until the host has seen its entry: the host leaves first.
    if (role === 'guest') while (node.peers().length > 0) await new Promise((r) => setTimeout(r, 50));
    return names;
  } finally {
    await node.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await sharedDocument(process.argv[2]);
