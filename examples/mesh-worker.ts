/**
 * A worker agent inside your own Node program, joining a mesh of `meshwork` daemons. It takes the
 * tasks submitted to any daemon with `needs: ['word-count']`, until Ctrl-C (or SIGTERM), then
 * finishes what it is running and leaves:
 *
 *   node examples/mesh-worker.ts <daemon multiaddr> [swarm key file]
 *   meshwork task submit --needs word-count --input '{"text":"a mesh of agents"}'
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { joinMesh } from '@meshwork/node';

export async function meshWorker(
  bootstrap: string,
  options: { swarmKeyFile?: string; stopped: Promise<unknown>; log?: (line: string) => void },
): Promise<void> {
  const log = options.log ?? console.log;
  const member = await joinMesh({
    bootstrap: [bootstrap],
    ...(options.swarmKeyFile !== undefined && { swarmKey: readFileSync(options.swarmKeyFile, 'utf8') }),
  });
  member.registerAgent({
    id: `word-counter-${process.pid}`,
    capabilities: ['word-count'],
    capacity: 2,
    handler: (task, ctx) => {
      const { text } = ctx.input as { text: string };
      log(`ran ${task.id} (epoch ${ctx.epoch})`);
      return { words: text.split(/\s+/).filter(Boolean).length };
    },
  });
  log(`joined as ${member.mesh.replica}`);
  await options.stopped;
  await member.stop({ drainMs: 10_000 });
  log('left');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [bootstrap, swarmKeyFile] = process.argv.slice(2);
  if (bootstrap === undefined) {
    console.error('usage: node examples/mesh-worker.ts <daemon multiaddr> [swarm key file]');
    process.exit(2);
  }
  const stopped = new Promise((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await meshWorker(bootstrap, { ...(swarmKeyFile !== undefined && { swarmKeyFile }), stopped });
}
