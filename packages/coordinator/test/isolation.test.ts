import { describe, expect, it } from 'vitest';
import type { Coordinator, CoordinatorEvent } from '../src/index.ts';
import { recordStarts, virtualMesh } from './fixtures.ts';

function isolationsOf(c: Coordinator): CoordinatorEvent<'isolated'>[] {
  const seen: CoordinatorEvent<'isolated'>[] = [];
  c.events.on('isolated', (e) => seen.push(e));
  return seen;
}

describe('a node that loses every other node at once', () => {
  it('starts nothing while cut off from a busy mesh, and works again once it reaches it', async () => {
    for (const seed of [1, 2, 3]) {
      const m = virtualMesh({ nodes: 5, backend: 'document', seed });
      const starts = recordStarts(m, () => 1500);
      const isolations = isolationsOf(m.coords[4]!);
      const ids: string[] = [];
      for (let i = 0; i < 120; i++)
        m.sched.at(1000 + i * 100, () =>
          ids.push(m.coords[i % 4]!.submit({ type: 'work', needs: ['work'] })),
        );
      // n4 alone loses its links for 8 s, four leases: the others' renewals stop reaching it.
      const cutAt = 3000;
      const healAt = cutAt + 8000;
      m.sched.at(cutAt, () => m.net.partition([['n4'], ['n0', 'n1', 'n2', 'n3']]));
      m.sched.at(healAt, () => m.net.heal());
      await m.run(60_000);

      for (const c of m.coords)
        for (const id of ids) expect(c.get(id)?.status, `${id} on ${c.replica}`).toBe('succeeded');
      expect(isolations).toHaveLength(1);
      expect(isolations[0]).toMatchObject({ lost: 4 });
      expect(isolations[0]!.at).toBeGreaterThanOrEqual(cutAt);
      // While cut off it started nothing; the mesh took back what it held, and nothing else ran twice.
      expect(starts.filter((s) => s.node === 'n4' && s.at > isolations[0]!.at && s.at < healAt)).toEqual([]);
      const byTask = Map.groupBy(starts, (s) => s.task);
      for (const list of byTask.values())
        for (const s of list.slice(0, -1)) expect(s, JSON.stringify(list)).toMatchObject({ node: 'n4' });
      expect(starts.some((s) => s.node === 'n4' && s.at > healAt)).toBe(true);
    }
  }, 60_000);

  /** n1 and n2 run a task each, forever, until they crash `apartMs` apart; n0 alone can take over. */
  async function crashOthers(apartMs: number) {
    const m = virtualMesh({ nodes: 3, backend: 'document', seed: 7 });
    const [n0, n1, n2] = m.coords as [Coordinator, Coordinator, Coordinator];
    for (const [c, agent] of [
      [n1, 'a1'],
      [n2, 'a2'],
    ] as const)
      c.registerAgent({ id: agent, capabilities: ['work'], handler: () => new Promise(() => {}) });
    await m.run(500);
    const ids = [n0.submit({ type: 'work', needs: ['work'] }), n0.submit({ type: 'work', needs: ['work'] })];
    await m.run(1500);
    for (const id of ids) expect(n0.get(id)?.status).toBe('running');
    const ran: number[] = [];
    n0.registerAgent({
      id: 'a0',
      capabilities: ['work'],
      capacity: 2,
      handler: () => {
        ran.push(m.sched.now());
        return Promise.resolve('taken over');
      },
    });
    await m.run(500);
    const isolations = isolationsOf(n0);
    const crashedAt = m.sched.now();
    m.net.crash('n1');
    m.sched.at(crashedAt + apartMs, () => m.net.crash('n2'));
    await m.run(40_000);
    for (const id of ids) expect(n0.get(id)).toMatchObject({ status: 'succeeded', agent: 'a0' });
    return { isolations, ran, crashedAt };
  }

  it('still takes over after the longest hold when the others really died together', async () => {
    const { isolations, ran, crashedAt } = await crashOthers(0);
    expect(isolations).toHaveLength(1);
    expect(isolations[0]).toMatchObject({ lost: 2 });
    // Ten leases of 2 s.
    expect(isolations[0]!.holdUntil - isolations[0]!.at).toBe(20_000);
    for (const t of ran) expect(t).toBeGreaterThanOrEqual(isolations[0]!.holdUntil);
    expect(ran.every((t) => t < crashedAt + 25_000)).toBe(true);
  }, 30_000);

  it('does not hold when the others went one at a time', async () => {
    const { isolations, ran, crashedAt } = await crashOthers(6000);
    expect(isolations).toEqual([]);
    // Each taken over within a lease or two of its holder's crash, long before a hold would end.
    expect(Math.min(...ran)).toBeLessThan(crashedAt + 6000);
    expect(Math.max(...ran)).toBeLessThan(crashedAt + 12_000);
  }, 30_000);
});
