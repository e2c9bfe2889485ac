import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { api, sleep, startDaemonProcess, tempDir, waitFor, type DaemonProcess } from './support/processes.ts';

const KILLS = 20;
const TERMS = 5;
/** The rounds that end with SIGTERM (a graceful restart); the others end with SIGKILL. */
const graceful = (round: number): boolean => round % 5 === 4;

interface Task {
  id: string;
  status: string;
}
interface TaskDetail extends Task {
  history: { epoch: number; agent: string; outcome: string }[];
}

/**
 * A 3-node mesh runs a steady stream of tasks submitted to one node, which is SIGKILLed at random
 * points 20 times and restarted gracefully (SIGTERM) 5 times. Every task appends its idempotency
 * key and fencing token to a file of the node that runs it before it works, so the files list
 * every attempt that ever started, including those cut short by a kill.
 *
 * Checked: nothing acknowledged is lost; after each restart, once the node reports ready, the
 * three nodes hold the same tasks; in the end every task succeeded exactly once in the shared
 * record, and no two attempts of a task ever carried the same fencing token.
 */
describe('crash safety', () => {
  const dir = tempDir('crash');
  const running: DaemonProcess[] = [];
  afterAll(() => {
    for (const d of running) d.child.kill('SIGKILL');
  });

  const node = (name: string, bootstrap: string[] = [], extra: Record<string, unknown> = {}) => {
    const dataDir = join(dir, name);
    return {
      name,
      bootstrap,
      drainTimeoutMs: 2_000,
      retention: { finishedMs: 3_600_000 },
      agents: [
        {
          id: `${name}-agent`,
          capabilities: ['work'],
          capacity: 4,
          executors: { shell: { cwd: dataDir } },
        },
      ],
      ...extra,
    };
  };
  const startsFile = (name: string): string => join(dir, name, 'starts.log');
  const task = (id: string) => ({
    id,
    needs: ['work'],
    input: {
      executor: 'shell',
      argv: ['sh', '-c', 'echo "$MESHWORK_IDEMPOTENCY_KEY $MESHWORK_EPOCH" >> starts.log; sleep 0.1'],
    },
    retry: { maxAttempts: 100 },
  });

  const taskIds = async (d: DaemonProcess): Promise<Set<string>> => {
    const { body } = await api<{ items: Task[] }>(d.info.url, '/v1/tasks?limit=10000');
    return new Set(body.items.map((t) => t.id));
  };

  it(`loses no acknowledged write and re-runs no finished work across ${KILLS} SIGKILLs and ${TERMS} SIGTERMs`, async () => {
    const steady = await startDaemonProcess(dir, node('steady'));
    running.push(steady);
    const other = await startDaemonProcess(dir, node('other', steady.info.multiaddrs));
    running.push(other);
    const bootstrap = [...steady.info.multiaddrs, ...other.info.multiaddrs];

    const acked: string[] = [];
    let n = 0;
    let victimPeer: string | undefined;
    for (let round = 0; round < KILLS + TERMS; round++) {
      const victim = await startDaemonProcess(
        dir,
        node('victim', bootstrap, { sync: round % 2 === 0 ? 'full' : 'normal' }),
      );
      running.push(victim);
      victimPeer ??= victim.info.peerId;
      expect(victim.info.peerId).toBe(victimPeer); // the node key survives too

      // Everything acknowledged before the previous kill is still here.
      const present = await taskIds(victim);
      expect(
        acked.filter((id) => !present.has(id)),
        `round ${round}: acknowledged but lost`,
      ).toEqual([]);

      // Ready means caught up; the three nodes then hold the same tasks.
      await waitFor(`round ${round}: the restarted node to be ready`, 30_000, async () =>
        (await api(victim.info.url, '/readyz')).status === 200 ? true : undefined,
      );
      await waitFor(`round ${round}: the mesh to converge`, 30_000, async () => {
        const [a, b, c] = await Promise.all([steady, other, victim].map(taskIds));
        return a!.size === b!.size && b!.size === c!.size && [...a!].every((id) => b!.has(id) && c!.has(id))
          ? true
          : undefined;
      });

      // Steady load from a few paced writers, stopped at a random point once the load is flowing.
      let stopped = false;
      const ackedBefore = acked.length;
      const writer = async () => {
        while (!stopped) {
          const id = `w-${n++}`;
          try {
            const res = await api(victim.info.url, '/v1/tasks', { body: task(id) });
            if (res.status === 201) acked.push(id);
          } catch {
            // Connection cut by the kill: not acknowledged, so no promise was made.
          }
          await sleep(30);
        }
      };
      const writers = [writer(), writer(), writer()];
      await waitFor(`round ${round}: a first acknowledged write`, 30_000, () =>
        acked.length > ackedBefore ? true : undefined,
      );
      await sleep(200 + Math.random() * 800);
      if (graceful(round)) {
        stopped = true;
        await Promise.all(writers);
        victim.child.kill('SIGTERM');
        expect(await victim.exited).toBe(0);
      } else {
        victim.child.kill('SIGKILL');
        stopped = true;
        await victim.exited;
        await Promise.all(writers);
      }
      running.splice(running.indexOf(victim), 1);
    }

    const final = await startDaemonProcess(dir, node('victim', bootstrap));
    running.push(final);
    const nodes = [steady, other, final];
    expect(acked.length).toBeGreaterThanOrEqual(KILLS + TERMS);

    // Every acknowledged task is done on every node.
    for (const d of nodes) {
      await waitFor(`${d.info.node} to see every task succeed`, 120_000, async () => {
        const { body } = await api<{ items: Task[] }>(d.info.url, '/v1/tasks?limit=10000');
        const done = new Set(body.items.filter((t) => t.status === 'succeeded').map((t) => t.id));
        return acked.every((id) => done.has(id)) ? true : undefined;
      });
    }

    // One successful attempt per task in the shared record.
    const twice: string[] = [];
    for (let i = 0; i < acked.length; i += 16) {
      const batch = acked.slice(i, i + 16);
      const details = await Promise.all(
        batch.map(async (id) => (await api<TaskDetail>(steady.info.url, `/v1/tasks/${id}`)).body),
      );
      for (const t of details)
        if (t.history.filter((a) => a.outcome === 'succeeded').length !== 1)
          twice.push(`${t.id}: ${JSON.stringify(t.history)}`);
    }
    expect(twice, 'tasks without exactly one successful attempt').toEqual([]);

    // No two attempts that ever started shared a fencing token.
    const epochs = new Map<string, number[]>();
    for (const name of ['steady', 'other', 'victim']) {
      const file = startsFile(name);
      if (!existsSync(file)) continue;
      for (const line of readFileSync(file, 'utf8').split('\n')) {
        if (line === '') continue;
        const [id, epoch] = line.split(' ') as [string, string];
        const list = epochs.get(id) ?? [];
        list.push(Number(epoch));
        epochs.set(id, list);
      }
    }
    expect(
      acked.filter((id) => !epochs.has(id)),
      'acknowledged tasks that never started',
    ).toEqual([]);
    const shared = [...epochs].filter(([, list]) => new Set(list).size !== list.length);
    expect(shared, 'tasks with two attempts at one fencing token').toEqual([]);
    const starts = [...epochs.values()].reduce((sum, list) => sum + list.length, 0);
    const again = [...epochs.values()].filter((list) => list.length > 1).length;
    console.log(
      `${acked.length} tasks acknowledged, ${starts} attempts started, ${again} tasks started more than once (each at a new fencing token)`,
    );
  }, 600_000);
});
