import {
  allModes,
  membershipBoundMs,
  runSimulation,
  type FaultMode,
  type SimOptions,
  type SimResult,
} from './run.ts';
import { topologies, type TopologyKind } from './topology.ts';

/**
 * `pnpm sim --seeds N [--from S]` runs seeds S..S+N-1; `pnpm sim --seed N` replays one
 * seed and prints its details; `--backend memory` runs on the in-memory store instead of
 * Documents; `--nodes N [--topology random|star|line|full]` runs N nodes linked that way
 * (default: 3–5 nodes in a full mesh); `--mode <class>` runs that fault class on every seed
 * (`stall` runs only so). Exit code 1 when any invariant failed.
 * `SIM_TRACE=<task id>` prints that task's claims, leases, starts, ends and expiries at each of
 * its starts, and the crashes.
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
const text = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i < 0 ? undefined : args[i + 1];
};

const one = flag('--seed');
const backend = text('--backend') ?? 'document';
if (backend !== 'document' && backend !== 'memory') {
  console.error('--backend is document or memory');
  process.exit(2);
}
const nodes = flag('--nodes');
if (nodes !== undefined && nodes < 2) {
  console.error('--nodes needs at least 2');
  process.exit(2);
}
const topology = text('--topology') ?? 'random';
if (!topologies.includes(topology as TopologyKind)) {
  console.error(`--topology is one of ${topologies.join(', ')}`);
  process.exit(2);
}
const mode = text('--mode');
if (mode !== undefined && !allModes.includes(mode as FaultMode)) {
  console.error(`--mode is one of ${allModes.join(', ')}`);
  process.exit(2);
}
let lastProgress = Date.now();
const options: SimOptions = {
  backend,
  ...(mode === undefined ? {} : { mode: mode as FaultMode }),
  ...(nodes === undefined
    ? {}
    : {
        nodes,
        topology: topology as TopologyKind,
        progress: (virtualMs: number) => {
          if (Date.now() - lastProgress < 15_000) return;
          lastProgress = Date.now();
          process.stderr.write(`  virtual time ${(virtualMs / 1000).toFixed(1)} s\n`);
        },
      }),
};
const replayFlags = `${backend === 'memory' ? ' --backend memory' : ''}${nodes === undefined ? '' : ` --nodes ${nodes} --topology ${topology}`}${mode === undefined ? '' : ` --mode ${mode}`}`;
const seeds =
  one !== undefined
    ? [one]
    : Array.from({ length: flag('--seeds') ?? 200 }, (_, i) => i + (flag('--from') ?? 0));

const results: SimResult[] = [];
const started = Date.now();
for (const seed of seeds) {
  const r = await runSimulation(seed, options);
  results.push(r);
  if (r.violations.length > 0) {
    console.log(`FAIL seed ${seed} (${r.mode}): ${r.violations.slice(0, 5).join('; ')}`);
    console.log(`  replay: pnpm sim --seed ${seed}${replayFlags}`);
  } else if (one !== undefined) {
    console.log(JSON.stringify(r));
  }
  if (one === undefined && (nodes !== undefined || results.length % 50 === 0))
    process.stderr.write(
      `${results.length}/${seeds.length} seeds, ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
    );
}
const failed = results.filter((r) => r.violations.length > 0);
const sum = (rs: readonly SimResult[], f: (r: SimResult) => number): number =>
  rs.reduce((s, r) => s + f(r), 0);
const mean = (rs: readonly SimResult[], f: (r: SimResult) => number): string =>
  (sum(rs, f) / rs.length).toFixed(1);
console.log(
  `${nodes === undefined ? '3-5 nodes, full mesh' : `${nodes} nodes, ${topology}`}; membership bound ${membershipBoundMs} ms; messages per node per second until every task finished`,
);
for (const mode of allModes) {
  const rs = results.filter((r) => r.mode === mode);
  if (rs.length === 0) continue;
  const tasks = sum(rs, (r) => r.tasks);
  const dup = sum(rs, (r) => r.duplicateStarts);
  const membership = rs.map((r) => r.membershipMs);
  const worst = membership.includes(null) ? 'never' : `${Math.max(...(membership as number[]))} ms`;
  console.log(
    `${mode.padEnd(10)} seeds=${rs.length} tasks=${tasks} starts=${sum(rs, (r) => r.starts)} duplicate_starts=${dup} (${((100 * dup) / Math.max(1, tasks)).toFixed(2)}% of tasks) failed_seeds=${rs.filter((r) => r.violations.length > 0).length} removed=${sum(rs, (r) => r.removed)} removed_twice=${sum(rs, (r) => r.duplicateRemovals)}`,
  );
  console.log(
    `${''.padEnd(10)} membership_max=${worst} msgs/node/s: deltas=${mean(rs, (r) => r.messagesPerNodePerSecond.delta)} anti_entropy=${mean(rs, (r) => r.messagesPerNodePerSecond.antiEntropy)} membership=${mean(rs, (r) => r.messagesPerNodePerSecond.membership)} busiest_node=${mean(rs, (r) => r.busiestNodePerSecond)}`,
  );
}
console.log(
  `${results.length} seeds, ${failed.length} failed, ${((Date.now() - started) / 1000).toFixed(1)} s`,
);
process.exitCode = failed.length > 0 ? 1 : 0;
