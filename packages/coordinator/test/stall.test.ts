import { describe, expect, it } from 'vitest';
import type { CoordinatorEvent } from '../src/index.ts';
import { recordStarts, type Start, virtualMesh } from './fixtures.ts';

/**
 * A node of a busy mesh stalls (its event loop blocked) long enough for the others to take it for
 * gone, and wakes cut off from them (its neighbours closed its links) until it reconnects.
 */
async function stallUnderLoad(seed: number, stallMs = 8000, reconnectMs: number | null = 3000) {
  const stallAt = 3000;
  const m = virtualMesh({ nodes: 4, backend: 'document', seed });
  const starts = recordStarts(m, (started) => 150 + (started % 5) * 50);
  const stalls: CoordinatorEvent<'stalled'>[] = [];
  m.coords[3]!.events.on('stalled', (e) => stalls.push(e));
  const ids: string[] = [];
  for (let i = 0; i < 160; i++)
    m.sched.at(1000 + i * 100, () => ids.push(m.coords[i % 3]!.submit({ type: 'work', needs: ['work'] })));
  m.sched.at(stallAt, () => {
    if (reconnectMs !== null) m.net.partition([['n3'], ['n0', 'n1', 'n2']]);
    m.net.stall('n3', stallMs);
  });
  if (reconnectMs !== null) m.sched.at(stallAt + stallMs + reconnectMs, () => m.net.heal());
  await m.run(60_000);
  return { m, ids, starts, stalls, stallAt, wokeAt: stallAt + stallMs };
}

describe('a node that stalled', () => {
  it('starts no task after waking that another node runs, and no task twice but its own from before the stall', async () => {
    for (const seed of [1, 2, 3]) {
      const { m, ids, starts, stalls, stallAt, wokeAt } = await stallUnderLoad(seed);
      expect(ids).toHaveLength(160);
      for (const c of m.coords)
        for (const id of ids) expect(c.get(id)?.status, `${id} on ${c.replica}`).toBe('succeeded');
      const byTask = new Map<string, Start[]>();
      for (const s of starts) byTask.set(s.task, [...(byTask.get(s.task) ?? []), s]);
      const twice = [...byTask.values()].filter((list) => list.length > 1);
      // The mesh took n3 for gone: what it had started before the stall ran again elsewhere.
      for (const list of twice)
        for (const s of list.slice(0, -1)) expect(s, JSON.stringify(list)).toMatchObject({ node: 'n3' });
      for (const list of twice) expect(list[0]!.at).toBeLessThan(stallAt);
      // It told of its stall as it woke, and of the longer hold the nodes it lost began; and
      // worked again once reconnected.
      expect(stalls).toHaveLength(2);
      for (const s of stalls) expect(s.from).toBeGreaterThanOrEqual(stallAt);
      for (const s of stalls) expect(s.to).toBe(wokeAt);
      expect(stalls[0]!.holdUntil).toBeGreaterThan(wokeAt);
      expect(stalls[1]!.holdUntil).toBeGreaterThan(stalls[0]!.holdUntil);
      expect(starts.some((s) => s.node === 'n3' && s.at > wokeAt)).toBe(true);
    }
  }, 60_000);

  it('holds only until it hears from the mesh again when its links were not closed', async () => {
    // The others drop n3 after about a second of silence and take it back as it wakes; n3 sees
    // them go as their records reach it, and come back.
    const { m, ids, starts, stalls, stallAt, wokeAt } = await stallUnderLoad(5, 4000, null);
    for (const c of m.coords) for (const id of ids) expect(c.get(id)?.status).toBe('succeeded');
    expect(stalls).toHaveLength(2);
    for (const t of new Set(starts.map((s) => s.task))) {
      const list = starts.filter((s) => s.task === t);
      for (const s of list.slice(0, -1)) expect(s).toMatchObject({ node: 'n3' });
      if (list.length > 1) expect(list[0]!.at).toBeLessThan(stallAt);
    }
    // Back at work soon after waking, long before a hold as long as the stall would end.
    const first = Math.min(...starts.filter((s) => s.node === 'n3' && s.at >= wokeAt).map((s) => s.at));
    expect(first).toBeLessThan(wokeAt + 1000);
    expect(stalls[1]!.holdUntil).toBeGreaterThan(wokeAt + 3000);
  }, 60_000);

  /**
   * `nodes` nodes; a1 on n1 runs a task until n1 crashes, 500 ms into n0's stall of 4 s. Only a0,
   * on n0, can take the task over. Returns what n0 told of its hold and its failovers.
   */
  async function crashDuringStall(nodes: number) {
    const m = virtualMesh({ nodes, backend: 'document', seed: 4 });
    const [n0, n1] = m.coords as [(typeof m.coords)[0], (typeof m.coords)[0]];
    n1.registerAgent({
      id: 'a1',
      capabilities: ['work'],
      handler: () => new Promise(() => {}),
    });
    await m.run(500);
    const id = n0.submit({ type: 'work', needs: ['work'] });
    await m.run(1500);
    expect(n0.get(id)).toMatchObject({ status: 'running', agent: 'a1' });
    let ranAt = -1;
    n0.registerAgent({
      id: 'a0',
      capabilities: ['work'],
      handler: () => {
        ranAt = m.sched.now();
        return Promise.resolve('taken over');
      },
    });
    await m.run(500);
    const failovers: CoordinatorEvent<'failover'>[] = [];
    n0.events.on('failover', (e) => failovers.push(e));
    const stalls: CoordinatorEvent<'stalled'>[] = [];
    n0.events.on('stalled', (e) => stalls.push(e));
    const stalledAt = m.sched.now();
    m.net.stall('n0', 4000);
    m.sched.at(stalledAt + 500, () => m.net.crash('n1'));
    await m.run(40_000);
    // As it woke, then as the loss of n1 began a longer hold.
    expect(stalls).toHaveLength(2);
    const { holdUntil } = stalls[1]!;
    expect(n0.get(id)).toMatchObject({ status: 'succeeded', agent: 'a0', result: 'taken over' });
    expect(ranAt).toBeGreaterThanOrEqual(holdUntil);
    return { holdUntil, wokeAt: stalledAt + 4000, failovers };
  }

  it('still takes over once its hold ends, when the node it lost really went', async () => {
    // n0 still reaches n2 and n3: a hold as long as the stall, from when it found n1 gone (n2 or
    // n3 may declare n1's attempt lost first; a0 starts the next one after the hold).
    const { holdUntil, wokeAt } = await crashDuringStall(4);
    expect(holdUntil).toBeGreaterThan(wokeAt + 3500);
    expect(holdUntil).toBeLessThanOrEqual(wokeAt + 4500);
  }, 30_000);

  it('holds the longest hold when it wakes alone, then goes on alone', async () => {
    // n0 lost every node it knew: more likely cut off than the mesh gone, so it waits 10 leases
    // (of 2 s) for the mesh to come back before it declares n1's attempt lost and takes over.
    const { holdUntil, wokeAt, failovers } = await crashDuringStall(2);
    expect(holdUntil).toBeGreaterThan(wokeAt + 20_000);
    expect(holdUntil).toBeLessThanOrEqual(wokeAt + 21_000);
    expect(failovers).toHaveLength(1);
    expect(failovers[0]).toMatchObject({ node: 'n1', epoch: 1 });
    expect(failovers[0]!.at).toBeGreaterThanOrEqual(holdUntil);
  }, 30_000);
});
