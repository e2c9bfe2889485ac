import { Worker } from 'node:worker_threads';
import { checkInput, failureKind, LoopState, type Bounds, type FuzzFailure } from './byte-loop.ts';
import { runHttpTarget } from './http-target.ts';
import { fromHex } from './mutate.ts';
import { byteTargetNames, byteTargets, type ByteTargetName } from './targets.ts';
import type { WorkerJob, WorkerMessage } from './worker.ts';

export const targetNames = [...byteTargetNames, 'http-api'] as const;
export type TargetName = (typeof targetNames)[number];

export const defaultBounds: Bounds = { timeMs: 2000, heapBytes: 64 * 2 ** 20 };

export interface FuzzOptions {
  readonly seed: number;
  /** Most inputs per target. */
  readonly frames: number;
  /** Time for the whole run, split evenly across the targets. */
  readonly seconds: number;
  readonly targets?: readonly TargetName[];
  readonly bounds?: Bounds;
  /** A byte target's input that has not returned after this long is reported as hung. */
  readonly hangMs?: number;
  readonly log?: (line: string) => void;
}

export interface TargetReport {
  readonly target: TargetName;
  readonly inputs: number;
  readonly accepted: number;
  readonly rejected: number;
  readonly seconds: number;
  readonly maxMs: number;
  readonly maxHeapBytes: number;
}

export interface FuzzReport {
  readonly seed: number;
  readonly targets: TargetReport[];
  readonly failures: FuzzFailure[];
}

/** Worker heap cap: an input that makes a decoder allocate without bound kills the worker, not the fuzzer. */
const WORKER_HEAP_MB = 1024;

/**
 * Runs one byte target in a worker thread, restarting it past an input that hangs or kills it, so
 * that a decoder stuck in a loop or out of memory is reported with its input, and the run goes on.
 */
async function runByteTarget(
  target: ByteTargetName,
  o: FuzzOptions & { bounds: Bounds; hangMs: number },
  budgetMs: number,
  onFailure: (f: FuzzFailure) => void,
): Promise<Omit<TargetReport, 'target' | 'seconds'>> {
  const state = new LoopState();
  const started = performance.now();
  let resumeAt: number | undefined;
  const died = new Set<string>();
  for (;;) {
    const job: WorkerJob = {
      target,
      seed: o.seed,
      frames: o.frames,
      budgetMs: Math.max(0, budgetMs - (performance.now() - started)),
      ...(resumeAt !== undefined ? { resumeAt } : {}),
      bounds: o.bounds,
      state: state.buffer,
    };
    const worker = new Worker(new URL('./worker.ts', import.meta.url), {
      workerData: job,
      resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
    });
    const death = await new Promise<string | undefined>((resolve) => {
      let last = Atomics.load(state.counters, 0);
      let since = performance.now();
      const watch = setInterval(() => {
        const now = Atomics.load(state.counters, 0);
        if (now !== last) {
          last = now;
          since = performance.now();
        } else if (now > 0 && performance.now() - since > o.hangMs) {
          clearInterval(watch);
          void worker.terminate();
          resolve(`hang: no answer after ${o.hangMs} ms`);
        }
      }, 100);
      worker.on('message', (m: WorkerMessage) => {
        if (m.type === 'failure') onFailure(m.failure);
        else {
          clearInterval(watch);
          resolve(undefined);
        }
      });
      worker.on('error', (err: Error) => {
        clearInterval(watch);
        resolve(`crash: ${err.message}`);
      });
      worker.on('exit', (code) => {
        clearInterval(watch);
        resolve(`crash: the worker exited (${code})`);
      });
    });
    await worker.terminate();
    if (death === undefined) break;
    const index = state.counters[4]!;
    const input = state.current();
    const [check, message] = death.split(/: (.*)/s) as [string, string];
    if (Atomics.load(state.counters, 0) === 0) {
      // Before any input: the target itself could not be set up.
      onFailure({ target, seed: o.seed, index, check: 'setup', message: death, hex: '' });
      break;
    }
    // Each kind once, as inside the worker; a worker that keeps dying stops the target.
    if (died.has(failureKind({ check, message }))) break;
    died.add(failureKind({ check, message }));
    onFailure({
      target,
      seed: o.seed,
      index,
      check,
      message,
      hex: input ? Buffer.from(input).toString('hex') : '',
    });
    // Past the input that hung or killed the worker (after a corpus input: past the corpus).
    resumeAt = index + 1;
  }
  return {
    inputs: Atomics.load(state.counters, 1) + Atomics.load(state.counters, 2),
    accepted: Atomics.load(state.counters, 1),
    rejected: Atomics.load(state.counters, 2),
    maxMs: state.maxima[0]!,
    maxHeapBytes: state.maxima[1]!,
  };
}

/** Runs every target in turn on its share of the time; failures carry their seed and input. */
export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const o = { bounds: defaultBounds, hangMs: 10_000, ...options };
  const names = o.targets ?? targetNames;
  const budgetMs = (o.seconds * 1000) / names.length;
  const failures: FuzzFailure[] = [];
  const onFailure = (f: FuzzFailure): void => {
    failures.push(f);
    o.log?.(formatFailure(f));
  };
  const reports: TargetReport[] = [];
  for (const target of names) {
    const t0 = performance.now();
    const figures =
      target === 'http-api'
        ? await runHttpTarget({ ...o, budgetMs, onFailure })
        : await runByteTarget(target, o, budgetMs, onFailure);
    const report = { target, ...figures, seconds: (performance.now() - t0) / 1000 };
    reports.push(report);
    o.log?.(formatReport(report));
  }
  return { seed: o.seed, targets: reports, failures };
}

/** Runs one input of `target` given as hex: the replay of a reported failure. */
export async function replayInput(
  target: TargetName,
  hex: string,
  bounds: Bounds = defaultBounds,
): Promise<FuzzFailure | undefined> {
  const input = fromHex(hex);
  if (target === 'http-api') {
    let failure: FuzzFailure | undefined;
    await runHttpTarget({
      seed: 0,
      frames: 1,
      budgetMs: 60_000,
      bounds,
      inputs: [input],
      onFailure: (f) => (failure = f),
    });
    return failure;
  }
  const [t] = await byteTargets([target]);
  const f = checkInput(t!, input, 0, bounds, new LoopState());
  return f && { target, seed: 0, index: 0, ...f, hex };
}

export function formatReport(r: TargetReport): string {
  return `${r.target.padEnd(16)} inputs=${r.inputs} accepted=${r.accepted} rejected=${r.rejected} seconds=${r.seconds.toFixed(1)} max_ms=${r.maxMs.toFixed(1)} max_heap_mib=${(r.maxHeapBytes / 2 ** 20).toFixed(1)}`;
}

export function formatFailure(f: FuzzFailure): string {
  return `FAIL ${f.target} seed=${f.seed} input=${f.index} ${f.check}: ${f.message.split('\n').slice(0, 6).join('\n  ')}\n  input hex: ${f.hex.length > 4000 ? `${f.hex.slice(0, 4000)}… (${f.hex.length / 2} bytes)` : f.hex}\n  replay: pnpm fuzz --target ${f.target} --hex <input hex>${f.index >= 0 ? `  or  pnpm fuzz --seed ${f.seed} --target ${f.target} --frames ${f.index + 1}` : ''}`;
}
