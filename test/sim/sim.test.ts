import { describe, expect, it } from 'vitest';
import type { Backend } from './replica.ts';
import { modes, runSimulation } from './run.ts';

/** Seeds per CI run; `SIM_SEEDS=5000 pnpm exec vitest run test/sim` or `pnpm sim --seeds 5000` for more. */
const seeds = Number(process.env['SIM_SEEDS'] ?? 200);

/** Runs `n` seeds of one fault class; returns each failing seed's first violation and the duplicate starts. */
async function runMode(backend: Backend, mode: 'stall' | 'lag', n: number) {
  const failures: string[] = [];
  let duplicates = 0;
  for (let seed = 0; seed < n; seed++) {
    const r = await runSimulation(seed, { backend, mode });
    duplicates += r.duplicateStarts;
    if (r.violations.length > 0)
      failures.push(
        `seed ${seed}: ${r.violations[0]} — replay: pnpm sim --seed ${seed} --backend ${backend} --mode ${mode}`,
      );
  }
  return { failures, duplicates };
}

describe.each([
  { backend: 'document' as const, count: seeds },
  { backend: 'memory' as const, count: Math.ceil(seeds / 4) },
])('deterministic simulation over $backend replicas', ({ backend, count }) => {
  it(`holds every invariant over ${count} seeds (fault-free, lossy, partitioned, crashing)`, async () => {
    const failures: string[] = [];
    const dup = new Map<string, { starts: number; duplicates: number; tasks: number }>();
    for (let seed = 0; seed < count; seed++) {
      const r = await runSimulation(seed, { backend });
      const d = dup.get(r.mode) ?? { starts: 0, duplicates: 0, tasks: 0 };
      dup.set(r.mode, {
        starts: d.starts + r.starts,
        duplicates: d.duplicates + r.duplicateStarts,
        tasks: d.tasks + r.tasks,
      });
      if (r.violations.length > 0)
        failures.push(
          `seed ${seed} (${r.mode}): ${r.violations[0]} — replay: pnpm sim --seed ${seed} --backend ${backend}`,
        );
    }
    for (const mode of modes) {
      const d = dup.get(mode);
      if (d !== undefined)
        console.log(
          `${mode}: ${d.tasks} tasks, ${d.starts} starts, duplicate starts ${d.duplicates} (${((100 * d.duplicates) / d.tasks).toFixed(2)}% of tasks)`,
        );
    }
    expect(failures).toEqual([]);
    expect(dup.get('fault-free')?.duplicates).toBe(0);
    // A run of a few hundred seeds takes a minute or more on a loaded 2-core machine.
  }, 600_000);

  it(`holds every invariant over ${Math.ceil(count / 4)} seeds of stalls: only a stalled node's earlier starts run again`, async () => {
    const { failures, duplicates } = await runMode(backend, 'stall', Math.ceil(count / 4));
    console.log(`stall: duplicate starts ${duplicates}, each of a task the stalled node had started before`);
    expect(failures).toEqual([]);
  }, 600_000);

  it('replays a seed exactly', async () => {
    const a = await runSimulation(13, { backend });
    const b = await runSimulation(13, { backend });
    expect(b).toEqual(a);
  });
});

// The in-memory store settles by timing alone, which a node reading seconds late defeats (a
// documented limit of that store): the receipts of the Document store are what this checks.
describe('deterministic simulation over document replicas, one node reading seconds late', () => {
  it(`holds every invariant over ${Math.ceil(seeds / 4)} seeds, with no duplicate start`, async () => {
    const { failures, duplicates } = await runMode('document', 'lag', Math.ceil(seeds / 4));
    expect(failures).toEqual([]);
    expect(duplicates).toBe(0);
  }, 600_000);
});

describe('deterministic simulation over a sparse mesh', () => {
  it('12 nodes linked at random: every invariant, no duplicate start without faults', async () => {
    const failures: string[] = [];
    for (let seed = 0; seed < 5; seed++) {
      const r = await runSimulation(seed, { nodes: 12, topology: 'random' });
      for (const v of r.violations)
        failures.push(
          `seed ${seed} (${r.mode}): ${v} — replay: pnpm sim --seed ${seed} --nodes 12 --topology random`,
        );
    }
    expect(failures).toEqual([]);
  }, 120_000);
});
