/**
 * A resource pool shared by a mesh: node `a` contributes 2 GPUs, and agents on both nodes can take
 * six `render` tasks that each need one. However the tasks are spread over the nodes, at most two
 * run at once, mesh-wide. Run it: `node examples/resource-pool.ts`.
 */
import { fileURLToPath } from 'node:url';
import { createCoordinator, createDocumentPools } from '@meshwork/coordinator';
import { createMeshNode } from '@meshwork/transport';

export async function resourcePool(
  log: (line: string) => void = console.log,
): Promise<{ succeeded: number; mostAtOnce: number; byAgent: Record<string, number> }> {
  const a = await createMeshNode();
  const b = await createMeshNode({ bootstrap: [a.multiaddrs[0]!] });
  const nodes = [a, b].map((mesh) => {
    const document = mesh.document('render-farm');
    const pools = createDocumentPools(document);
    return { pools, coordinator: createCoordinator({ document, resources: pools, presence: mesh.presence }) };
  });
  nodes[0]!.pools.add('gpu', 2);

  let running = 0;
  let mostAtOnce = 0;
  const byAgent: Record<string, number> = {};
  try {
    for (const [i, { coordinator }] of nodes.entries()) {
      const id = `renderer-${i}`;
      coordinator.registerAgent({
        id,
        capabilities: ['render'],
        capacity: 4, // room for four tasks, but the pool allows two
        handler: async () => {
          mostAtOnce = Math.max(mostAtOnce, ++running);
          byAgent[id] = (byAgent[id] ?? 0) + 1;
          await new Promise((resolve) => setTimeout(resolve, 200));
          running--;
          return { frame: 'ok' };
        },
      });
    }
    const submitter = nodes[1]!.coordinator;
    const ids = Array.from({ length: 6 }, (_, i) =>
      submitter.submit({ type: 'render', input: { frame: i }, resources: { gpu: 1 } }),
    );
    const finished = new Set(['succeeded', 'failed', 'cancelled']);
    while (!ids.every((id) => finished.has(submitter.get(id)?.status ?? '')))
      await new Promise((resolve) => setTimeout(resolve, 50));
    const succeeded = ids.filter((id) => submitter.get(id)?.status === 'succeeded').length;
    log(`${succeeded} of 6 renders succeeded, at most ${mostAtOnce} at once (${JSON.stringify(byAgent)})`);
    return { succeeded, mostAtOnce, byAgent };
  } finally {
    await Promise.all(nodes.map((n) => n.coordinator.stop()));
    await Promise.all([a.stop(), b.stop()]);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await resourcePool();
