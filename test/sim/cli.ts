import { runSimulation, type SimResult } from './run.ts';

/**
 * `pnpm sim --seeds N [--from S]` runs seeds S..S+N-1; `pnpm sim --seed N` replays one
 * seed and prints its details; `--backend memory` runs on the in-memory store instead of
 * Documents. Exit code 1 when any invariant failed. `SIM_TRACE=<task id>` prints that task's
 * claims, leases, starts, ends and expiries at each of its starts, and the crashes.
 */
const args = process.argv.slice(2);
const flag = (name: string): number | undefined => {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const n = Number(args[i + 1]);
  if (!Number.isSafeInteger(n) || n < 0) {
    console.error(`${name} needs a non-negative integer`);
    process.exit(2);
  }
  return n;
};

const one = flag('--seed');
const bi = args.indexOf('--backend');
const backend = bi < 0 ? 'document' : args[bi + 1];
if (backend !== 'document' && backend !== 'memory') {
  console.error('--backend is document or memory');
  process.exit(2);
}
const seeds =
  one !== undefined
    ? [one]
    : Array.from({ length: flag('--seeds') ?? 200 }, (_, i) => i + (flag('--from') ?? 0));

const results: SimResult[] = [];
const started = Date.now();
for (const seed of seeds) {
  const r = await runSimulation(seed, backend);
  results.push(r);
  if (r.violations.length > 0) {
    console.log(`FAIL seed ${seed} (${r.mode}): ${r.violations.slice(0, 5).join('; ')}`);
    console.log(`  replay: pnpm sim --seed ${seed}${backend === 'memory' ? ' --backend memory' : ''}`);
  } else if (one !== undefined) {
    console.log(JSON.stringify(r));
  }
  if (one === undefined && results.length % 50 === 0)
    process.stderr.write(`${results.length}/${seeds.length} seeds\n`);
}
const failed = results.filter((r) => r.violations.length > 0);
for (const mode of ['fault-free', 'lossy', 'partition', 'crash']) {
  const rs = results.filter((r) => r.mode === mode);
  if (rs.length === 0) continue;
  const starts = rs.reduce((s, r) => s + r.starts, 0);
  const dup = rs.reduce((s, r) => s + r.duplicateStarts, 0);
  const tasks = rs.reduce((s, r) => s + r.tasks, 0);
  const removed = rs.reduce((s, r) => s + r.removed, 0);
  const twice = rs.reduce((s, r) => s + r.duplicateRemovals, 0);
  console.log(
    `${mode.padEnd(10)} seeds=${String(rs.length).padStart(4)} tasks=${tasks} starts=${starts} duplicate_starts=${dup} (${((100 * dup) / Math.max(1, tasks)).toFixed(2)}% of tasks) removed=${removed} removed_twice=${twice}`,
  );
}
console.log(
  `${results.length} seeds, ${failed.length} failed, ${((Date.now() - started) / 1000).toFixed(1)} s`,
);
process.exitCode = failed.length > 0 ? 1 : 0;
