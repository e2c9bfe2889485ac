import { sleep } from '../../packages/node/test/support/processes.ts';
import { startDaemonMesh } from './daemon-mesh.ts';
import { moduleTask, submitSpread, waitForAll, waitReady } from './workload.ts';
import { liveAgents, taskCounts } from './observe.ts';
const [size = 12, tasks = 300] = process.argv.slice(2).map(Number);
process.env['NODE_OPTIONS'] = `${process.env['NODE_OPTIONS'] ?? ''} --cpu-prof --cpu-prof-dir=/tmp/tprof`;
const mesh = await startDaemonMesh({ size, seed: 1, capacity: 8 });
await waitReady(mesh.daemons, 120_000);
const agents = new Set(mesh.daemons.map((d) => d.agent));
await waitForAll(mesh.daemons, async (d) => ((await liveAgents(d, agents)) === agents.size ? true : 'no'), { timeoutMs: 120_000 });
await sleep(5000);
const t0 = performance.now();
const acked = await submitSpread(mesh.daemons, Array.from({ length: tasks }, (_, i) => moduleTask(`p-${i}`, 'noop')), { concurrency: 32 });
for (;;) { const c = await taskCounts(mesh.daemons[0]!); if ((c['succeeded'] ?? 0) >= acked.length) break; await sleep(500); }
console.log(`${acked.length} tasks in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
for (const d of mesh.daemons) await mesh.stop(d, 'SIGTERM');
await mesh.close();
