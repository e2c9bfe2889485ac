import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  api,
  runCli,
  sleep,
  startDaemonProcess,
  tempDir,
  waitFor,
  type DaemonProcess,
} from './support/processes.ts';

interface AgentRow {
  id: string;
  health: { degraded: boolean; reason: string | null };
  stats: { successes: number };
}

/**
 * A daemon whose agent slows down: its history (one sample per second in which attempts ended)
 * needs 70 samples before any verdict, so the test runs for over a minute.
 */
describe('agent health on a daemon', () => {
  const dir = tempDir('health');
  let daemon: DaemonProcess | undefined;
  afterAll(() => daemon?.child.kill('SIGTERM'));

  it('shows an agent that slows down as degraded, with the reason, in /v1/agents, meshwork agents and /metrics', async () => {
    const nap = join(dir, 'nap.mjs');
    writeFileSync(
      nap,
      'export default (input) => new Promise((r) => setTimeout(() => r(null), input.ms));\n',
    );
    daemon = await startDaemonProcess(dir, {
      name: 'health',
      agents: [{ id: 'napper', capacity: 8, executors: { module: { handlers: { nap } } } }],
    });
    const { url } = daemon.info;
    const napper = async (): Promise<AgentRow> =>
      (await api<AgentRow[]>(url, '/v1/agents')).body.find((a) => a.id === 'napper')!;
    const degradedGauge = async (): Promise<string | undefined> =>
      (await api<string>(url, '/metrics')).body
        .split('\n')
        .find((l) => l.startsWith('meshwork_agent_degraded{'));
    expect((await napper()).health).toEqual({ degraded: false, reason: null });
    expect(await degradedGauge()).toBe('meshwork_agent_degraded{agent="napper"} 0');

    let ms = 200;
    let submitting = true;
    const submitted = (async () => {
      while (submitting) {
        const res = await api(url, '/v1/tasks', {
          body: { input: { executor: 'module', handler: 'nap', input: { ms } } },
        });
        expect(res.status).toBe(201);
        await sleep(150);
      }
    })();
    try {
      // A minute of 200 ms naps: the baseline.
      await sleep(60_000);
      expect((await napper()).health.degraded).toBe(false);
      // Then 20 times slower, until the newest samples' median shows it.
      ms = 4_000;
      const slow = await waitFor('napper to be degraded', 180_000, async () => {
        const a = await napper();
        return a.health.degraded ? a : undefined;
      });
      expect(slow.health.reason).toMatch(
        /^latency \d+(\.\d)? s in 7 of the newest 9 vs baseline \d+ ms \(MAD \d+ %\)$/,
      );
      expect(await degradedGauge()).toBe('meshwork_agent_degraded{agent="napper"} 1');
      const listed = await runCli(['agents', '--url', url]);
      expect(listed.code, listed.stderr).toBe(0);
      expect(listed.stdout).toMatch(
        /^napper\s.*\sdegraded: latency .+ in 7 of the newest 9 vs baseline .+$/m,
      );
      expect(listed.stdout.split('\n')[0]).toMatch(/HEALTH$/);
    } finally {
      submitting = false;
      await submitted;
    }
  }, 400_000);
});
