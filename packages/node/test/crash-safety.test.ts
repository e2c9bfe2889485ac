import { afterAll, describe, expect, it } from 'vitest';
import { api, sleep, startDaemonProcess, tempDir, waitFor, type DaemonProcess } from './support/processes.ts';

const KILLS = 20;

/**
 * A daemon under a steady stream of task submissions is SIGKILLed at random points. Every
 * submission the HTTP API acknowledged (201) must be there after the restart, and a second,
 * steady node must end up with all of them too.
 */
describe('crash safety', () => {
  const dir = tempDir('crash');
  const running: DaemonProcess[] = [];
  afterAll(() => {
    for (const d of running) d.child.kill('SIGKILL');
  });

  it(`loses no acknowledged write across ${KILLS} SIGKILLs, and the mesh converges`, async () => {
    const steady = await startDaemonProcess(dir, { name: 'steady' });
    running.push(steady);
    const bootstrap = steady.info.multiaddrs;
    // Tasks nobody can run: the load is pure writes to shared state.
    const task = (id: string) => ({
      id,
      input: { executor: 'shell', argv: ['true'] },
      needs: ['nobody-has-this'],
    });

    const acked: string[] = [];
    let n = 0;
    let victimPeer: string | undefined;
    for (let round = 0; round < KILLS; round++) {
      const victim = await startDaemonProcess(dir, {
        name: 'victim',
        bootstrap,
        sync: round % 2 === 0 ? 'full' : 'normal',
      });
      running.push(victim);
      victimPeer ??= victim.info.peerId;
      expect(victim.info.peerId).toBe(victimPeer); // the node key survives too

      // Everything acknowledged before the previous kill is still here.
      const { body: listed } = await api<{ id: string }[]>(victim.info.url, '/v1/tasks?limit=10000');
      const present = new Set(listed.map((t) => t.id));
      const missing = acked.filter((id) => !present.has(id));
      expect(missing, `round ${round}: acknowledged but lost`).toEqual([]);

      // Steady load from a few concurrent writers, killed at a random point once the load is
      // flowing (at least one write of this round acknowledged), however slow the machine is.
      let killed = false;
      const ackedBefore = acked.length;
      const writer = async () => {
        while (!killed) {
          const id = `w-${n++}`;
          try {
            const res = await api(victim.info.url, '/v1/tasks', { body: task(id) });
            if (res.status === 201) acked.push(id);
          } catch {
            // Connection cut by the kill: not acknowledged, so no promise was made.
          }
        }
      };
      const writers = [writer(), writer(), writer()];
      await waitFor(`round ${round}: a first acknowledged write`, 30_000, () =>
        acked.length > ackedBefore ? true : undefined,
      );
      await sleep(Math.random() * 250);
      victim.child.kill('SIGKILL');
      killed = true;
      await victim.exited;
      await Promise.all(writers);
      running.splice(running.indexOf(victim), 1);
    }

    const final = await startDaemonProcess(dir, { name: 'victim', bootstrap });
    running.push(final);
    const { body: listed } = await api<{ id: string }[]>(final.info.url, '/v1/tasks?limit=10000');
    const present = new Set(listed.map((t) => t.id));
    expect(acked.filter((id) => !present.has(id))).toEqual([]);
    expect(acked.length).toBeGreaterThanOrEqual(KILLS);

    // The steady node converges on every acknowledged write.
    await waitFor('the steady node to converge', 30_000, async () => {
      const { body } = await api<{ id: string }[]>(steady.info.url, '/v1/tasks?limit=10000');
      const ids = new Set(body.map((t) => t.id));
      return acked.every((id) => ids.has(id)) ? true : undefined;
    });
  }, 300_000);
});
