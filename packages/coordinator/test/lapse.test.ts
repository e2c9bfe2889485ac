import { Emitter, type PresenceChannel, type PresenceEvents, type PresenceState } from '@meshwork/core';
import { describe, expect, it } from 'vitest';
import { createLapseRule, LIVE_HOLDER_LEASES } from '../src/coordinator/lapse.ts';
import { virtualMesh } from './fixtures.ts';

/** `presence` as seen by a node that loses its paths to `hidden` while `cut()` says so. */
function hiding(presence: PresenceChannel, hidden: string, cut: () => boolean) {
  const events = new Emitter<PresenceEvents>();
  let last: PresenceState | null = null;
  presence.on('presence', (peer, state) => {
    if (peer === hidden) last = state;
    if (peer !== hidden || !cut()) events.emit('presence', [peer, state]);
  });
  const channel: PresenceChannel = {
    self: presence.self,
    publish: (state) => presence.publish(state),
    status: (node) => (node === hidden && cut() ? 'unreachable' : presence.status(node)),
    members: () => presence.members(),
    ...events.observable(),
  };
  return { channel, changed: () => events.emit('presence', [hidden, cut() ? null : last]) };
}

const p99 = 200;
const rules = (n: number) =>
  Array.from({ length: n }, (_, i) =>
    createLapseRule({
      replica: `node-${i}`,
      delay: { p99: () => p99 },
      leaseMs: 3000,
      graceMs: 500,
      maxTransitLeases: 3,
    }),
  );

describe('when a lease counts as lapsed', () => {
  it("is the lease's end for the holder's own node, and at least one delivery delay later for the others", () => {
    const [self, other] = rules(2);
    expect(self!.lapsesAt('t', 1, 'node-0', 10_000, 2, true)).toBe(10_000);
    expect(other!.lapsesAt('t', 1, 'node-0', 10_000, 2, false)).toBeGreaterThanOrEqual(10_000 + p99);
    const capped = createLapseRule({
      replica: 'x',
      delay: { p99: () => 60_000 },
      leaseMs: 1000,
      graceMs: 500,
      maxTransitLeases: 3,
    });
    expect(capped.lapsesAt('t', 1, 'node-0', 0, 1, false)).toBe(3000);
  });

  it("leaves a live holder's lease to it, declaring it lost only as a backstop, LIVE_HOLDER_LEASES leases later", () => {
    const [, other] = rules(2);
    const gone = other!.lapsesAt('t', 1, 'node-0', 10_000, 2, false);
    expect(other!.lapsesAt('t', 1, 'node-0', 10_000, 2, true)).toBe(gone + LIVE_HOLDER_LEASES * 3000);
  });

  it('takes a holder membership reports unreachable for gone after the grace and one delivery delay', () => {
    expect(rules(1)[0]!.goneAt(10_000)).toBe(10_000 + 500 + p99);
  });

  it('is staggered over the mesh: of 50 nodes, few declare one epoch lost before the first declaration reaches them', () => {
    const nodes = rules(50);
    let early = 0;
    let firstLate = 0;
    const tasks = 500;
    for (let t = 0; t < tasks; t++) {
      const at = nodes.map((r) => r.lapsesAt(`task-${t}`, 1, 'holder', 0, 50, false)).sort((a, b) => a - b);
      // Declarations within one delivery delay of the first are written before it arrives.
      early += at.filter((x) => x < at[0]! + p99).length;
      firstLate += at[0]! - p99;
    }
    expect(early / tasks).toBeLessThan(2.5);
    // The first comes about one delay after the lease's end plus its transit.
    expect(firstLate / tasks).toBeLessThan(2 * p99);
    // Each node's turn differs from task to task: no node is always first or always last.
    const firsts = new Set<number>();
    for (let t = 0; t < tasks; t++) {
      const at = nodes.map((r) => r.lapsesAt(`task-${t}`, 1, 'holder', 0, 50, false));
      firsts.add(at.indexOf(Math.min(...at)));
    }
    expect(firsts.size).toBeGreaterThan(30);
  });
});

describe('a holder that membership reports unreachable', () => {
  async function flap(ms: number) {
    let cut = false;
    let view: ReturnType<typeof hiding> | undefined;
    const m = virtualMesh({
      nodes: 3,
      backend: 'memory',
      seed: 1,
      presence: (i, p) => (i === 0 ? (view = hiding(p, 'n2', () => cut)).channel : p),
    });
    // Only n2's agent can run the task, so n2 holds it; n0 watches it.
    m.coords[2]!.registerAgent({
      id: 'worker',
      capabilities: ['slow'],
      handler: () => new Promise((resolve) => m.net.node('n2').clock.setTimer(() => resolve('done'), 5000)),
    });
    const failovers: string[] = [];
    m.coords[0]!.events.on('failover', (e) => failovers.push(`${e.reason}@${e.epoch}`));
    await m.run(2000);
    const id = m.coords[0]!.submit({ type: 'work', needs: ['slow'] });
    await m.run(1500);
    expect(m.coords[0]!.get(id)?.status).toBe('running');
    cut = true;
    view!.changed();
    await m.run(ms);
    cut = false;
    view!.changed();
    await m.run(10_000);
    return { failovers, task: m.coords[0]!.get(id)! };
  }

  it('for a moment (a stall, an overloaded neighbour) keeps its epoch', async () => {
    // The mesh's lease grace is 200 ms, and records arrive within a few.
    const { failovers, task } = await flap(100);
    expect(failovers).toEqual([]);
    expect(task).toMatchObject({ status: 'succeeded', epoch: 1 });
  });

  it('for longer than the grace is taken for gone, and its epoch declared lost', async () => {
    const { failovers } = await flap(3000);
    expect(failovers[0]).toBe('unreachable@1');
  });
});

describe('a node whose reading falls behind', () => {
  it("does not take a live holder's running attempt for lapsed while the renewals reach it late", async () => {
    const m = virtualMesh({ nodes: 3, backend: 'memory', seed: 2 });
    // Only n2's agent can run the task, for 12 s: six of the mesh's 2 s leases, each renewed.
    const starts: number[] = [];
    m.coords[2]!.registerAgent({
      id: 'worker',
      capabilities: ['slow'],
      handler: (_task, ctx) => {
        starts.push(ctx.epoch);
        return new Promise((resolve) => m.net.node('n2').clock.setTimer(() => resolve('done'), 12_000));
      },
    });
    const failovers: string[] = [];
    for (const c of m.coords)
      c.events.on('failover', (e) => failovers.push(`${e.node}:${e.reason}@${e.epoch}`));
    await m.run(2000);
    const id = m.coords[0]!.submit({ type: 'work', needs: ['slow'] });
    await m.run(1500);
    expect(m.coords[0]!.get(id)?.status).toBe('running');
    // n0 reads what reaches it 6 s late for 5 s: three leases' renewals, its links and membership on time.
    m.net.lag('n0', 6000, 5000);
    await m.run(30_000);
    expect(failovers).toEqual([]);
    expect(starts).toEqual([1]);
    expect(m.coords[0]!.get(id)).toMatchObject({ status: 'succeeded', epoch: 1 });
  });
});

describe('a node that stops its coordinator and stays in the mesh', () => {
  it('hands on the epoch of a claim that won and did not start, instead of leaving it to the backstop', async () => {
    // A long settle window keeps n1's claim unstarted when its coordinator stops.
    const m = virtualMesh({
      nodes: 2,
      backend: 'document',
      seed: 3,
      coordinator: { settle: { minMs: 1000, initialMs: 1000 } },
    });
    m.coords[1]!.registerAgent({
      id: 'only',
      capabilities: ['rare'],
      handler: () => Promise.resolve('done'),
    });
    const claims: number[] = [];
    m.coords[1]!.events.on('claim', (e) => claims.push(e.epoch));
    await m.run(2000);
    const id = m.coords[0]!.submit({ type: 'work', needs: ['rare'] });
    await m.run(300);
    expect(claims).toEqual([1]);
    expect(m.coords[0]!.get(id)?.status).toBe('claimed');
    await m.coords[1]!.stop({ drainMs: 0 });
    await m.run(1000);
    // n1's node is still alive to n0, whose backstop would wait 10 leases: epoch 1 ended at once,
    // and the task waits for an agent again.
    expect(m.coords[0]!.get(id)).toMatchObject({ status: 'pending', epoch: 1 });
  });
});
