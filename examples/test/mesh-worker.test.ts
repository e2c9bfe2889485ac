import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createSwarmKey } from '@meshwork/transport';
import { afterAll, describe, expect, it } from 'vitest';
import {
  api,
  startDaemonProcess,
  tempDir,
  waitFor,
  type DaemonProcess,
} from '../../packages/node/test/support/processes.ts';

const script = fileURLToPath(new URL('../mesh-worker.ts', import.meta.url));

interface TaskView {
  status: string;
  agent: string | null;
  node: string | null;
  result: unknown;
}

describe('examples/mesh-worker', () => {
  const daemons: DaemonProcess[] = [];
  afterAll(() => daemons.forEach((d) => d.child.kill('SIGKILL')));

  it('a program joins a private mesh of daemons and runs a task submitted to a daemon it never dialled', async () => {
    const dir = tempDir('meshwork-mesh-worker-');
    const keyFile = join(dir, 'swarm.key');
    writeFileSync(keyFile, createSwarmKey());
    const alpha = await startDaemonProcess(dir, { name: 'alpha', pskFile: keyFile, agents: [] });
    daemons.push(alpha);
    const beta = await startDaemonProcess(dir, {
      name: 'beta',
      pskFile: keyFile,
      bootstrap: alpha.info.multiaddrs,
      agents: [],
    });
    daemons.push(beta);

    const worker = spawn(process.execPath, [script, alpha.info.multiaddrs[0]!, keyFile], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines: string[] = [];
    createInterface({ input: worker.stdout }).on('line', (l) => lines.push(l));
    const exited = new Promise<number | null>((r) => worker.once('exit', r));
    try {
      await waitFor('the worker to join', 30_000, () => lines.find((l) => l.startsWith('joined as ')));
      const agentId = `word-counter-${worker.pid}`;
      await waitFor('beta to see the worker agent', 30_000, async () => {
        const { body } = await api<{ id: string; live: boolean }[]>(beta.info.url, '/v1/agents');
        return body.some((a) => a.id === agentId && a.live) || undefined;
      });
      const submitted = await api<{ id: string }>(beta.info.url, '/v1/tasks', {
        body: { needs: ['word-count'], input: { text: 'agents on a mesh with no server' } },
      });
      expect(submitted.status).toBe(201);
      const task = await waitFor('the task to succeed', 30_000, async () => {
        const { body } = await api<TaskView>(beta.info.url, `/v1/tasks/${submitted.body.id}`);
        return body.status === 'succeeded' ? body : undefined;
      });
      expect(task).toMatchObject({ agent: agentId, result: { words: 7 } });
      expect(lines).toContain(`ran ${submitted.body.id} (epoch 1)`);
    } finally {
      worker.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(lines.at(-1)).toBe('left');
  }, 120_000);
});
