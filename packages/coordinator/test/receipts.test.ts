import { describe, expect, it } from 'vitest';
import { recordStarts, virtualMesh } from './fixtures.ts';

/*
 * Claims that arrive far later than the settle window: links of 300–400 ms against a window held
 * at 40 ms. Every node holding back steps in before the claim made at once reaches it, so timing
 * alone starts tasks twice; receipts (on a Document-backed store) must not.
 */
function slowMesh(
  backend: 'memory' | 'document',
  seed: number,
  lease = { durationMs: 4000, graceMs: 500 },
  latencyMs: readonly [number, number] = [300, 400],
) {
  const m = virtualMesh({
    nodes: 4,
    backend,
    seed,
    coordinator: { settle: { initialMs: 40, minMs: 40, maxMs: 40 }, lease },
  });
  m.net.setFaults({ lossRate: 0, duplicateRate: 0, minLatencyMs: latencyMs[0], maxLatencyMs: latencyMs[1] });
  const starts = new Map<string, number>();
  m.coords.forEach((c, i) =>
    c.registerAgent({
      id: `agent-${i}`,
      capabilities: ['work'],
      handler: async (task) => {
        starts.set(task.id, (starts.get(task.id) ?? 0) + 1);
        await new Promise<void>((resolve) => m.net.node(`n${i}`).clock.setTimer(resolve, 50));
        return 'done';
      },
    }),
  );
  return { ...m, starts };
}

async function runTasks(
  backend: 'memory' | 'document',
  seed: number,
  lease?: { durationMs: number; graceMs: number },
  latencyMs?: readonly [number, number],
  warmUp = 0,
) {
  const m = slowMesh(backend, seed, lease, latencyMs);
  await m.run(3000);
  // Tasks run first so that every node has measured how late the others' records arrive.
  for (let i = 0; i < warmUp; i++) m.coords[i % 4]!.submit({ type: 'work', id: `warm-${i}` });
  if (warmUp > 0) await m.run(20_000);
  const ids = Array.from({ length: 24 }, (_, i) => m.coords[i % 4]!.submit({ type: 'work', id: `t${i}` }));
  await m.run(60_000);
  const duplicates = [...m.starts.values()].reduce((n, k) => n + k - 1, 0);
  const succeeded = ids.filter((id) => m.coords.every((c) => c.get(id)?.status === 'succeeded')).length;
  const epochs = Math.max(...ids.map((id) => m.coords[0]!.get(id)?.epoch ?? 0));
  return { duplicates, succeeded, started: m.starts.size, epochs };
}

describe('claims over links slower than the settle window', () => {
  it('starts every task once when the store knows the order of writes (receipts)', async () => {
    for (const seed of [1, 2, 3]) {
      const r = await runTasks('document', seed);
      expect(r.succeeded).toBe(24);
      expect(r.started).toBe(24);
      expect(r.duplicates).toBe(0);
    }
  });

  it('renews a claim waiting for receipts that take longer than its lease, instead of losing the epoch', async () => {
    // Receipts come back after two crossings (700-800 ms), past the 600 ms lease and its grace;
    // a renewal crosses once.
    for (const seed of [1, 2, 3]) {
      const r = await runTasks('document', seed, { durationMs: 600, graceMs: 100 });
      expect(r.succeeded).toBe(24);
      expect(r.duplicates).toBe(0);
      expect(r.epochs).toBe(1);
    }
  });

  it('judges a lease by how late records arrive: renewals slower than the lease fence nothing', async () => {
    // Each renewal takes 1.2-1.3 s to arrive, past the 900 ms lease and its grace: by its own
    // clock alone a node would declare every holder lost before hearing from it. (Before a node has
    // measured any delay, it has only its clock: warm-up tasks come first.)
    for (const seed of [1, 2, 3]) {
      const r = await runTasks('document', seed, { durationMs: 900, graceMs: 100 }, [1200, 1300], 4);
      expect(r.succeeded).toBe(24);
      expect(r.duplicates).toBe(0);
      expect(r.epochs).toBe(1);
    }
  });

  it('starts tasks twice by timing alone (the in-memory store, without receipts)', async () => {
    let duplicates = 0;
    for (const seed of [1, 2, 3]) {
      const r = await runTasks('memory', seed);
      expect(r.succeeded).toBe(24);
      duplicates += r.duplicates;
    }
    expect(duplicates).toBeGreaterThan(0);
  });
});

describe('receipts across a healed partition', () => {
  it("owes none for the claims of the other side's tasks, finished while apart", async () => {
    for (const seed of [1, 2, 3]) {
      const m = virtualMesh({ nodes: 4, backend: 'document', seed });
      const starts = recordStarts(m, () => 50);
      const sides = [
        ['n0', 'n1'],
        ['n2', 'n3'],
      ];
      await m.run(2000);
      m.net.partition(sides);
      await m.run(3000);
      const ids = Array.from({ length: 16 }, (_, i) => m.coords[i % 4]!.submit({ type: 'work' }));
      await m.run(10_000);
      m.net.heal();
      await m.run(10_000);

      for (const c of m.coords) for (const id of ids) expect(c.get(id)?.status).toBe('succeeded');
      expect(starts).toHaveLength(16);
      // Receipts are keyed reader>claimer; each side's claims were all read by the other after the heal.
      const sideOf = (node: string) => sides.findIndex((s) => s.includes(node));
      const pairs = [...m.net.node('n0').state.store.entries('receipt')].map(
        ([key]) => key.split('>') as [string, string],
      );
      // Rivals on one side receipted each other's claims while their tasks were open.
      expect(pairs.some(([reader, claimer]) => sideOf(reader) === sideOf(claimer))).toBe(true);
      expect(pairs.filter(([reader, claimer]) => sideOf(reader) !== sideOf(claimer))).toEqual([]);
    }
  });
});
