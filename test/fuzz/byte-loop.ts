import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createRng } from '../sim/prng.ts';
import { mutate, toHex } from './mutate.ts';
import { FuzzViolation, type ByteTarget, type Outcome } from './targets.ts';

/** Bounds per input; an input over either fails. */
export interface Bounds {
  readonly timeMs: number;
  readonly heapBytes: number;
}

/** An input that broke an invariant; `pnpm fuzz --target <target> --hex <hex>` replays it. */
export interface FuzzFailure {
  readonly target: string;
  readonly seed: number;
  /** Which input of the seed's sequence for this target (-1: a corpus input as it is). */
  readonly index: number;
  readonly check: string;
  readonly message: string;
  readonly hex: string;
}

/** Shared with the thread that watches the loop: where it is, and its figures so far. */
export class LoopState {
  /** [inputs started (-1 when done), accepted, rejected, input length, input index] */
  readonly counters: Int32Array;
  /** [max ms per input, max heap bytes per input] */
  readonly maxima: Float64Array;
  /** The input being run, for a report if the loop hangs or dies on it. */
  readonly input: Uint8Array;

  readonly buffer: SharedArrayBuffer;

  constructor(buffer = new SharedArrayBuffer(40 + MAX_INPUT_BYTES)) {
    this.buffer = buffer;
    this.counters = new Int32Array(buffer, 0, 5);
    this.maxima = new Float64Array(buffer, 24, 2);
    this.input = new Uint8Array(buffer, 40, MAX_INPUT_BYTES);
  }

  /** The input being run, or undefined if it was too long to keep. */
  current(): Uint8Array | undefined {
    const n = this.counters[3]!;
    return n < 0 ? undefined : this.input.slice(0, n);
  }
}

const MAX_INPUT_BYTES = 1 << 20;

let gc: (() => void) | undefined;
/** A full collection, so that a heap figure over the bound is measured again without garbage. */
function collect(): void {
  if (gc === undefined) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
}

const heapUsed = (): number => getHeapStatistics().used_heap_size;

export interface LoopOptions {
  readonly seed: number;
  readonly frames: number;
  readonly budgetMs: number;
  /**
   * Resuming after an input hung or killed the worker: the corpus is not run again, and the
   * sequence's inputs before this index are generated without being run.
   */
  readonly resumeAt?: number;
  readonly bounds: Bounds;
  readonly state: LoopState;
  readonly onFailure: (f: FuzzFailure) => void;
}

/** Failures that differ only in figures are of one kind. */
export const failureKind = (f: { check: string; message: string }): string =>
  `${f.check} ${f.message.split('\n')[0]!.replace(/[0-9]+/g, 'N')}`;

/** Kinds of failure reported per target before it stops. */
export const MAX_FAILURES = 10;

function measure(
  target: ByteTarget,
  input: Uint8Array,
  counters: Int32Array,
): { ms: number; heap: number; outcome?: Outcome; violation?: FuzzViolation } {
  const heap0 = heapUsed();
  const t0 = performance.now();
  try {
    const outcome = target.run(input);
    Atomics.add(counters, outcome === 'accepted' ? 1 : 2, 1);
    return { ms: performance.now() - t0, heap: heapUsed() - heap0, outcome };
  } catch (err) {
    const violation =
      err instanceof FuzzViolation
        ? err
        : new FuzzViolation('crash', err instanceof Error ? (err.stack ?? err.message) : String(err));
    return { ms: performance.now() - t0, heap: heapUsed() - heap0, violation };
  }
}

/**
 * Runs one input through `target` and the bounds; returns the broken invariant, if any. Records
 * the input in `state` first, so a watcher can report it if the run never returns.
 */
export function checkInput(
  target: ByteTarget,
  input: Uint8Array,
  index: number,
  bounds: Bounds,
  state: LoopState,
  /** An undamaged corpus input, which must be accepted. */
  valid = false,
): { check: string; message: string } | undefined {
  const { counters, maxima } = state;
  counters[3] = input.length <= MAX_INPUT_BYTES ? input.length : -1;
  if (input.length <= MAX_INPUT_BYTES) state.input.set(input);
  counters[4] = index;
  Atomics.add(counters, 0, 1);
  let m = measure(target, input, counters);
  if (m.heap > bounds.heapBytes && m.violation === undefined) {
    collect();
    m = measure(target, input, counters);
  }
  maxima[0] = Math.max(maxima[0]!, m.ms);
  maxima[1] = Math.max(maxima[1]!, m.heap);
  if (m.violation !== undefined) return { check: m.violation.check, message: m.violation.detail };
  if (valid && m.outcome === 'rejected')
    return index < 0
      ? { check: 'corpus', message: 'a valid corpus input was refused: the corpus tests nothing' }
      : {
          check: 'leaked-state',
          message: 'a valid input was refused after the inputs before it: a rejected one left state behind',
        };
  if (m.ms > bounds.timeMs) return { check: 'time', message: `${m.ms.toFixed(0)} ms for one input` };
  if (m.heap > bounds.heapBytes)
    return { check: 'memory', message: `heap grew by ${(m.heap / 2 ** 20).toFixed(1)} MiB for one input` };
  return undefined;
}

/**
 * Feeds `target` damaged copies of its corpus, from a seeded sequence, until `frames` inputs or
 * the budget are used up, checking each: typed errors only, nothing changed on rejection (the
 * target checks these), and time and heap within bounds.
 */
export function runLoop(target: ByteTarget, o: LoopOptions): void {
  // One report per kind of failure: a bug that many inputs reach would hide the others.
  const seen = new Set<string>();
  const fail = (index: number, input: Uint8Array, f: { check: string; message: string }): void => {
    const kind = failureKind(f);
    if (seen.has(kind)) return;
    seen.add(kind);
    o.onFailure({ target: target.name, seed: o.seed, index, ...f, hex: toHex(input) });
  };

  // Valid inputs must be accepted as they are: a corpus that is refused tests nothing.
  if (o.resumeAt === undefined) {
    for (const valid of target.corpus) {
      const f = checkInput(target, valid, -1, o.bounds, o.state, true);
      if (f !== undefined) fail(-1, valid, f);
    }
  }

  const rng = createRng(o.seed).fork(target.name);
  const deadline = performance.now() + o.budgetMs;
  for (let i = 0; i < o.frames && seen.size < MAX_FAILURES; i++) {
    const base = rng.pick(target.corpus);
    // A few inputs go as they are, between damaged ones: state left over by one would show.
    const valid = rng.chance(0.05);
    const input = valid ? base : mutate(rng, base, target.corpus).bytes;
    if (i < (o.resumeAt ?? 0)) continue;
    if (performance.now() > deadline) break;
    const f = checkInput(target, input, i, o.bounds, o.state, valid);
    if (f !== undefined) fail(i, input, f);
  }
  Atomics.store(o.state.counters, 0, -1);
}
