import { describe, expect, it } from 'vitest';
import type { Coordinator, CoordinatorOptions } from '../src/index.ts';
import { coordinatorOn, virtualMesh } from './fixtures.ts';

/*
 * Receipts of nodes gone for good leave the shared state (Document-backed stores over the
 * simulated network, with the real membership): at once for a node that left, past twice
 * `retention.finishedMs` for one that is unreachable. A node that comes back is written new ones.
 */
function receiptMesh(nodes: number, seed: number, finishedMs = 1000) {
  const options: Partial<CoordinatorOptions> = { retention: { finishedMs } };
  const m = virtualMesh({ nodes, backend: 'document', seed, coordinator: options });
  const starts = new Map<string, number>();
  /** What each task settled as, and the highest epoch started, as the coordinators tell it. */
  const settled = new Map<string, string>();
  const epochs = new Map<string, number>();
  const register = (c: Coordinator, i: number): void => {
    c.events.on('settled', (e) => void settled.set(e.task, e.status));
    c.events.on('start', (e) => void epochs.set(e.task, Math.max(e.epoch, epochs.get(e.task) ?? 0)));
    c.registerAgent({
      id: `agent-${i}`,
      capabilities: ['work'],
      handler: async (task) => {
        starts.set(task.id, (starts.get(task.id) ?? 0) + 1);
        await new Promise<void>((resolve) => m.net.node(`n${i}`).clock.setTimer(resolve, 20));
        return 'done';
      },
    });
  };
  m.coords.forEach(register);

  /** Keys of the receipts node `i` holds. */
  const receipts = (i: number): string[] =>
    [...m.net.node(`n${i}`).state.store.entries('receipt')].map(([key]) => key).sort();
  const involving = (keys: readonly string[], node: string): string[] =>
    keys.filter((k) => k.startsWith(`${node}>`) || k.endsWith(`>${node}`));

  /** Each receipt's removals, by the node that removed it, on the nodes up now. */
  const removedBy = new Map<string, string[]>();
  const removalWrites = new Map<string, number>();
  for (const node of m.net.nodes()) {
    const store = node.state.store;
    store.on('change', (changes, local) => {
      if (!local || changes === 'all') return;
      const gone = changes.filter((c) => c.kind === 'receipt' && store.read('receipt', c.key) === undefined);
      if (gone.length === 0) return;
      removalWrites.set(node.id, (removalWrites.get(node.id) ?? 0) + 1);
      for (const c of gone) removedBy.set(c.key, [...(removedBy.get(c.key) ?? []), node.id]);
    });
  }

  /** Submits `count` tasks round-robin from the nodes listed and runs until they are done. */
  async function work(count: number, from: readonly number[], prefix: string) {
    const ids = Array.from({ length: count }, (_, i) =>
      m.coords[from[i % from.length]!]!.submit({ type: 'work', id: `${prefix}${i}` }),
    );
    await m.run(4000);
    return {
      succeeded: ids.filter((id) => settled.get(id) === 'succeeded').length,
      duplicates: ids.reduce((n, id) => n + Math.max(0, (starts.get(id) ?? 0) - 1), 0),
      started: ids.filter((id) => (starts.get(id) ?? 0) > 0).length,
      epochs: Math.max(...ids.map((id) => epochs.get(id) ?? 0)),
    };
  }

  /** The node stops its coordinator and says goodbye; then its process ends. */
  async function leave(i: number) {
    await m.coords[i]!.stop();
    m.net.node(`n${i}`).presence.leave();
    await m.run(100);
    m.net.crash(`n${i}`);
  }

  /** The node starts again on its persisted state, with a new coordinator and its agent. */
  function restart(i: number): void {
    const c = coordinatorOn(m.net.restart(`n${i}`), options);
    m.coords[i] = c;
    register(c, i);
  }

  /** A node unreachable this long is gone for good: twice `finishedMs`, and at least 20 leases (of 2 s here). */
  const goneMs = Math.max(2 * finishedMs, 20 * 2000);
  return { ...m, goneMs, starts, receipts, involving, removedBy, removalWrites, work, leave, restart };
}

describe('receipt retention', () => {
  it('removes the receipts of nodes that left, each once, and keeps those between live nodes', async () => {
    const m = receiptMesh(6, 1);
    await m.run(1500);
    const before = await m.work(60, [0, 1, 2, 3, 4, 5], 'a');
    expect(before.succeeded).toBe(60);
    const held = m.receipts(0);
    const ofLeaving = [...new Set([...m.involving(held, 'n4'), ...m.involving(held, 'n5')])];
    const between = held.filter((k) => !ofLeaving.includes(k));
    // Both directions, and the pair of the two leaving nodes itself.
    expect(m.involving(held, 'n4').some((k) => k.startsWith('n4>'))).toBe(true);
    expect(m.involving(held, 'n4').some((k) => k.endsWith('>n4'))).toBe(true);
    expect(ofLeaving).toContain('n4>n5');
    expect(between.length).toBeGreaterThan(0);
    for (let i = 1; i < 4; i++) expect(m.receipts(i)).toEqual(held);

    await m.leave(4);
    await m.leave(5);
    await m.run(1000);
    for (let i = 0; i < 4; i++) {
      expect(m.involving(m.receipts(i), 'n4')).toEqual([]);
      expect(m.involving(m.receipts(i), 'n5')).toEqual([]);
      expect(m.receipts(i)).toEqual(between);
    }
    // Every receipt of the leaving nodes went once: by its live end, or (between the two of them)
    // by one heir; each live node removed in one write per departure at most.
    expect([...m.removedBy.keys()].sort()).toEqual(ofLeaving.sort());
    for (const [key, by] of m.removedBy) {
      expect(by, key).toHaveLength(1);
      const [reader, claimer] = key.split('>');
      if (reader !== 'n4' && reader !== 'n5') expect(by[0]).toBe(reader);
      else if (claimer !== 'n4' && claimer !== 'n5') expect(by[0]).toBe(claimer);
    }
    for (const writes of m.removalWrites.values()) expect(writes).toBeLessThanOrEqual(2);

    // The rest of the mesh goes on: every task once.
    const after = await m.work(40, [0, 1, 2, 3], 'b');
    expect(after).toEqual({ succeeded: 40, duplicates: 0, started: 40, epochs: 1 });
  });

  it('keeps the receipts of a node unreachable for less than the bound, and removes them past it', async () => {
    const m = receiptMesh(5, 2, 25_000);
    await m.run(1500);
    expect((await m.work(50, [0, 1, 2, 3, 4], 'a')).succeeded).toBe(50);
    const ofN4 = m.involving(m.receipts(0), 'n4');
    expect(ofN4.length).toBeGreaterThan(0);

    m.net.crash('n4');
    // Unreachable at once (its connections reset); 49 s of the 50 s bound pass, with tasks run meanwhile.
    await m.run(1000);
    const meanwhile = await m.work(20, [0, 1, 2, 3], 'b');
    expect(meanwhile).toEqual({ succeeded: 20, duplicates: 0, started: 20, epochs: 1 });
    await m.run(m.goneMs - 1000 - 4000 - 1000);
    for (let i = 0; i < 4; i++) expect(m.involving(m.receipts(i), 'n4')).toEqual(ofN4);

    await m.run(2000);
    for (let i = 0; i < 4; i++) expect(m.involving(m.receipts(i), 'n4')).toEqual([]);
    expect(m.removedBy.size).toBe(ofN4.length);
  });

  it('writes new receipts for a node that comes back after its receipts were removed, and starts its tasks once', async () => {
    const m = receiptMesh(5, 3);
    await m.run(1500);
    expect((await m.work(50, [0, 1, 2, 3, 4], 'a')).succeeded).toBe(50);
    m.net.crash('n4');
    // Past twice finishedMs, kept: a claim may wait for receipts 10 leases, so the bound is 20 at least.
    await m.run(3000);
    for (let i = 0; i < 4; i++) expect(m.involving(m.receipts(i), 'n4')).not.toEqual([]);
    await m.run(m.goneMs);
    for (let i = 0; i < 4; i++) expect(m.involving(m.receipts(i), 'n4')).toEqual([]);

    m.restart(4);
    await m.run(1500);
    // Its old receipts, still in its persisted state, are removed there too on the way back.
    for (let i = 0; i < 5; i++) expect(m.involving(m.receipts(i), 'n4')).toEqual([]);
    const back = await m.work(50, [4, 0, 1, 2, 3], 'b');
    expect(back).toEqual({ succeeded: 50, duplicates: 0, started: 50, epochs: 1 });
    for (let i = 0; i < 5; i++) {
      const ofN4 = m.involving(m.receipts(i), 'n4');
      expect(ofN4.some((k) => k.startsWith('n4>'))).toBe(true);
      expect(ofN4.some((k) => k.endsWith('>n4'))).toBe(true);
    }
  });

  it('writes new receipts for a node that left and comes back under the same id', async () => {
    const m = receiptMesh(4, 4);
    await m.run(1500);
    expect((await m.work(40, [0, 1, 2, 3], 'a')).succeeded).toBe(40);
    await m.leave(3);
    await m.run(1000);
    for (let i = 0; i < 3; i++) expect(m.involving(m.receipts(i), 'n3')).toEqual([]);

    m.restart(3);
    await m.run(1500);
    for (let i = 0; i < 4; i++) expect(m.involving(m.receipts(i), 'n3')).toEqual([]);
    const back = await m.work(40, [3, 0, 1, 2], 'b');
    expect(back).toEqual({ succeeded: 40, duplicates: 0, started: 40, epochs: 1 });
    for (let i = 0; i < 4; i++) {
      const ofN3 = m.involving(m.receipts(i), 'n3');
      expect(ofN3.some((k) => k.startsWith('n3>'))).toBe(true);
      expect(ofN3.some((k) => k.endsWith('>n3'))).toBe(true);
    }
  });
});
