/**
 * A workflow from the library: two mesh nodes on loopback, a `fetch` agent on one and a `merge`
 * agent on the other. The run fans out one `fetch` task per source, in parallel, then merges
 * their results; any node may advance it. Run it: `node examples/workflow.ts`.
 */
import { fileURLToPath } from 'node:url';
import { createCoordinator, type WorkflowView } from '@meshwork/coordinator';
import { createMeshNode } from '@meshwork/transport';

export async function workflow(log: (line: string) => void = console.log): Promise<WorkflowView> {
  const a = await createMeshNode();
  const b = await createMeshNode({ bootstrap: [a.multiaddrs[0]!] });
  const onA = createCoordinator({ document: a.document('work'), presence: a.presence });
  const onB = createCoordinator({ document: b.document('work'), presence: b.presence });
  try {
    onA.registerAgent({
      id: 'fetcher',
      capabilities: ['fetch'],
      capacity: 3,
      handler: (_task, ctx) => {
        const { url } = ctx.input as { url: string };
        return { url, bytes: url.length * 100 };
      },
    });
    onB.registerAgent({
      id: 'merger',
      capabilities: ['merge'],
      handler: (_task, ctx) => {
        const { parts } = ctx.input as { parts: { bytes: number }[] };
        return { sources: parts.length, bytes: parts.reduce((sum, p) => sum + p.bytes, 0) };
      },
    });

    const run = onB.workflows.start(
      {
        name: 'crawl',
        params: ['sources'],
        steps: [
          { id: 'fetch', type: 'fetch', forEach: 'params.sources', input: { url: 'item' } },
          { id: 'merge', type: 'merge', input: { parts: 'steps.fetch.results' } },
        ],
      },
      { sources: ['https://a.example', 'https://bb.example', 'https://ccc.example'] },
    );
    log(`started ${run}`);
    for (;;) {
      const view = onA.workflows.get(run);
      if (view !== null && view.status !== 'running') {
        const merged = onA.get(view.tasks.at(-1)!)?.result;
        log(`${view.name} ${view.status}: ${JSON.stringify(merged)}`);
        return view;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    await Promise.all([onA.stop(), onB.stop()]);
    await Promise.all([a.stop(), b.stop()]);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await workflow();
