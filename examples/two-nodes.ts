/**
 * Two Meshwork daemons in one process: `alpha` has no agents and only submits; `beta` runs a
 * shell agent. A task submitted on alpha travels over the libp2p mesh, runs on beta, and its
 * result comes back to alpha. Run it: `node examples/two-nodes.ts`.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient, parseConfig, startDaemon } from '@meshwork/node';

interface TaskView {
  id: string;
  status: string;
  agent: string | null;
  result: { exitCode: number; stdout: string } | null;
}

export async function twoNodes(log: (line: string) => void = console.log): Promise<TaskView> {
  const dir = mkdtempSync(join(tmpdir(), 'meshwork-two-nodes-'));
  const apiKey = 'example-api-key-not-secret';
  const config = (name: string, bootstrap: string[], agents: unknown[]) =>
    parseConfig(
      { name, dataDir: join(dir, name), apiKey, http: { port: 0 }, logLevel: 'warn', bootstrap, agents },
      dir,
    );

  const alpha = await startDaemon(config('alpha', [], []));
  const beta = await startDaemon(
    config('beta', alpha.multiaddrs, [
      { id: 'unix-worker', executors: { shell: { allowCommands: ['uname'] } } },
    ]),
  );
  try {
    const client = createClient({ url: alpha.url, apiKey });
    // Wait until alpha has heard of beta's agent through the shared state.
    while (!(await client.get<{ id: string; live: boolean }[]>('/v1/agents')).some((a) => a.live)) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const submitted = await client.post<TaskView>('/v1/tasks', {
      id: 'which-os',
      input: { executor: 'shell', argv: ['uname', '-s'] },
    });
    log(`submitted ${submitted.id} on alpha (${alpha.url})`);
    for (;;) {
      const task = await client.get<TaskView>('/v1/tasks/which-os');
      if (task.status === 'succeeded' || task.status === 'failed') {
        log(`${task.id} ${task.status} on ${task.agent}: ${task.result?.stdout.trim() ?? ''}`);
        return task;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await beta.stop();
    await alpha.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await twoNodes();
