/**
 * `pnpm bench core`: Meshwork's CRDTs against Yjs, Automerge and Loro on the same
 * workloads, each mutation its own transaction and delta.
 *
 * Timings are the fastest of several runs, and the systems take turns run by
 * run, so background load on a shared machine falls on all of them alike.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { systems, type BenchReplica, type BenchSystem } from '../core/systems.ts';
import type { Progress, Row, Suite } from '../report.ts';

const N = 10_000;
const WRITERS = 1000;
/** Timed runs per figure; a system stops repeating once it has spent BUDGET_S (Automerge needs tens of seconds per run). */
const RUNS = 5;
const BUDGET_S = 8;
const WARMUP = N / 10;

type Values = Record<string, number | null>;

const items = Array.from({ length: N }, (_, i) => `item-${i}`);

function seconds(fn: () => void): number {
  const start = performance.now();
  fn();
  return (performance.now() - start) / 1000;
}

function meanBytes(deltas: readonly Uint8Array[]): number {
  return deltas.reduce((n, d) => n + d.byteLength, 0) / deltas.length;
}

/**
 * Runs `measure` (which returns seconds) for every system, RUNS rounds, the
 * systems taking turns; returns each system's fastest run.
 */
function interleaved(
  progress: Progress,
  label: string,
  measure: (s: BenchSystem) => number,
): Map<string, number> {
  const best = new Map<string, number>();
  const spent = new Map<string, number>();
  for (let round = 1; round <= RUNS; round++) {
    for (const system of systems) {
      if ((spent.get(system.name) ?? 0) >= BUDGET_S) continue;
      progress.step(`${label}: ${system.name} run ${round}/${RUNS}`);
      const s = measure(system);
      best.set(system.name, Math.min(best.get(system.name) ?? Infinity, s));
      spent.set(system.name, (spent.get(system.name) ?? 0) + s);
    }
  }
  return best;
}

/** Runs a small version of every workload so the JIT and library caches are warm before timing. */
function warmUp(system: BenchSystem): void {
  const r = system.replica(100);
  for (let i = 0; i < WARMUP; i++) {
    r.add(`warm-${i}`);
    r.increment();
    r.write(`warm-${i}`);
  }
  for (let i = 0; i < WARMUP; i++) r.remove(`warm-${i}`);
  const other = system.replica(101);
  for (const d of r.drain()) other.apply(d);
}

function heapPerElement(system: BenchSystem): number {
  const script = fileURLToPath(new URL('../core/heap.ts', import.meta.url));
  const out = execFileSync(process.execPath, ['--expose-gc', script, system.name, String(N)], {
    encoding: 'utf8',
  });
  return Number(out.trim());
}

/** N single-mutation transactions on a fresh replica: the fastest run's ops/s, and the deltas and state of the last run. */
function sequential(
  progress: Progress,
  label: string,
  op: (r: BenchReplica, i: number) => void,
): { opsPerSecond: Values; deltaBytes: Values; stateBytes: Values } {
  const deltaBytes: Values = {};
  const stateBytes: Values = {};
  const best = interleaved(progress, label, (system) => {
    const r = system.replica(0);
    const s = seconds(() => {
      for (let i = 0; i < N; i++) op(r, i);
    });
    const deltas = r.drain();
    if (deltas.length !== N)
      throw new Error(`${system.name}: ${label} made ${deltas.length} deltas, not ${N}`);
    deltaBytes[system.name] = meanBytes(deltas);
    stateBytes[system.name] = r.stateBytes();
    return s;
  });
  return { opsPerSecond: perSecond(best, N), deltaBytes, stateBytes };
}

function perSecond(best: Map<string, number>, ops: number): Values {
  return Object.fromEntries([...best].map(([name, s]) => [name, ops / s]));
}

function orsetRows(progress: Progress, row: RowSink): void {
  const addDeltas = new Map<string, Uint8Array[]>();
  const removeDeltas = new Map<string, Uint8Array[]>();
  const removeSeconds = new Map<string, number>();
  const addSeconds = interleaved(progress, 'orset add/remove', (system) => {
    const r = system.replica(0);
    const a = seconds(() => {
      for (const k of items) r.add(k);
    });
    addDeltas.set(system.name, r.drain());
    const d = seconds(() => {
      for (const k of items) r.remove(k);
    });
    removeDeltas.set(system.name, r.drain());
    removeSeconds.set(system.name, Math.min(removeSeconds.get(system.name) ?? Infinity, d));
    return a;
  });
  for (const s of systems) {
    const adds = addDeltas.get(s.name)!.length;
    const removes = removeDeltas.get(s.name)!.length;
    if (adds !== N || removes !== N)
      throw new Error(`${s.name}: expected ${N} deltas per phase, got ${adds}/${removes}`);
  }
  const remote = interleaved(progress, 'orset remote apply', (system) => {
    const r = system.replica(1);
    return seconds(() => {
      for (const delta of addDeltas.get(system.name)!) r.apply(delta);
      for (const delta of removeDeltas.get(system.name)!) r.apply(delta);
    });
  });
  const statePerLive: Values = {};
  const heap: Values = {};
  for (const system of systems) {
    progress.step(`orset state with half removed: ${system.name}`);
    const half = system.replica(2, false);
    for (const k of items) half.add(k);
    for (let i = 0; i < N; i += 2) half.remove(items[i]!);
    statePerLive[system.name] = half.stateBytes() / (N / 2);
    progress.step(`orset heap per element: ${system.name}`);
    heap[system.name] = heapPerElement(system);
  }
  const mean = (m: Map<string, Uint8Array[]>): Values =>
    Object.fromEntries([...m].map(([name, deltas]) => [name, meanBytes(deltas)]));
  row('orset', 'add_ops_per_s', 'ops/s', 'higher', perSecond(addSeconds, N));
  row('orset', 'remove_ops_per_s', 'ops/s', 'higher', perSecond(removeSeconds, N));
  row('orset', 'remote_apply_ops_per_s', 'ops/s', 'higher', perSecond(remote, 2 * N));
  row('orset', 'delta_bytes_per_add', 'bytes', 'lower', mean(addDeltas));
  row('orset', 'delta_bytes_per_remove', 'bytes', 'lower', mean(removeDeltas));
  row('orset', 'state_bytes_per_live_element', 'bytes', 'lower', statePerLive);
  row('orset', 'heap_bytes_per_element', 'bytes', 'lower', heap);
}

function manyWritersRows(progress: Progress, row: RowSink): void {
  const deltas = new Map<string, Uint8Array[]>();
  for (const system of systems) {
    progress.step(`lww-1000-writers: ${system.name} writers`);
    const list: Uint8Array[] = [];
    for (let w = 0; w < WRITERS; w++) {
      const writer = system.replica(10 + w);
      writer.write(`writer-${w}`);
      list.push(...writer.drain());
    }
    deltas.set(system.name, list);
  }
  const stateBytes: Values = {};
  const merge = interleaved(progress, 'lww-1000-writers merge', (system) => {
    const r = system.replica(5);
    const s = seconds(() => {
      for (const d of deltas.get(system.name)!) r.apply(d);
    });
    stateBytes[system.name] = r.stateBytes();
    return s;
  });
  row(
    'lww-1000-writers',
    'merge_ms',
    'ms',
    'lower',
    Object.fromEntries([...merge].map(([n, s]) => [n, s * 1000])),
  );
  row('lww-1000-writers', 'merged_state_bytes', 'bytes', 'lower', stateBytes);
}

/** Writers, writes each and rounds the lagging peer misses, in the catch-up workload. */
const CATCH_UP = { writers: 50, writes: 200, missed: 2, calls: 20 } as const;

/**
 * An anti-entropy answer: a replica that took every write of 50 writers, in rounds (as a mesh
 * delivers them), works out what a peer that missed the last two rounds lacks, from the peer's
 * version. Timed per answer; the message's size is reported too.
 */
function catchUpRows(progress: Progress, row: RowSink): void {
  const { writers, writes, missed, calls } = CATCH_UP;
  const peers = new Map<string, { full: BenchReplica; version: unknown }>();
  for (const system of systems) {
    progress.step(`catch-up: ${system.name} writes`);
    const sources = Array.from({ length: writers }, (_, w) => system.replica(100 + w));
    const [full, lagging] = [system.replica(1, false), system.replica(2, false)];
    for (let round = 0; round < writes; round++) {
      for (const source of sources) {
        source.write(`round ${round} of ${writers} writers`);
        for (const d of source.drain()) {
          full.apply(d);
          if (round < writes - missed) lagging.apply(d);
        }
      }
    }
    peers.set(system.name, { full, version: lagging.version() });
  }
  const answerBytes: Values = {};
  const answer = interleaved(progress, 'catch-up', (system) => {
    const { full, version } = peers.get(system.name)!;
    const s = seconds(() => {
      for (let i = 0; i < calls; i++) answerBytes[system.name] = full.changesSince(version).byteLength;
    });
    return s / calls;
  });
  const name = `catch-up-${writers * writes}-events-${writers * missed}-missing`;
  row(name, 'answer_ms', 'ms', 'lower', Object.fromEntries([...answer].map(([n, s]) => [n, s * 1000])));
  row(name, 'answer_bytes', 'bytes', 'lower', answerBytes);
}

type RowSink = (
  workload: string,
  metric: string,
  unit: string,
  better: 'higher' | 'lower',
  values: Values,
) => void;

export const suite: Suite = {
  name: 'core',
  systems: systems.map((s) => s.name),
  baseline: 'yjs',
  run(progress) {
    const rows: Row[] = [];
    const row: RowSink = (workload, metric, unit, better, values) => {
      rows.push({ workload, metric, unit, better, values });
    };
    for (const system of systems) {
      progress.step(`warm-up: ${system.name}`);
      warmUp(system);
    }
    orsetRows(progress, row);

    const c = sequential(progress, 'pncounter', (r) => r.increment());
    row('pncounter', 'inc_ops_per_s', 'ops/s', 'higher', c.opsPerSecond);
    row('pncounter', 'delta_bytes_per_inc', 'bytes', 'lower', c.deltaBytes);
    row('pncounter', 'state_bytes', 'bytes', 'lower', c.stateBytes);

    const l = sequential(progress, 'lwwregister', (r, i) => r.write(`value-${i}`));
    row('lwwregister', 'write_ops_per_s', 'ops/s', 'higher', l.opsPerSecond);
    row('lwwregister', 'delta_bytes_per_write', 'bytes', 'lower', l.deltaBytes);
    row('lwwregister', 'state_bytes_after_writes', 'bytes', 'lower', l.stateBytes);

    manyWritersRows(progress, row);
    catchUpRows(progress, row);
    return Promise.resolve(rows);
  },
};
