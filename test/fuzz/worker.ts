import { parentPort, workerData } from 'node:worker_threads';
import { LoopState, runLoop, type Bounds, type FuzzFailure } from './byte-loop.ts';
import { byteTargets, type ByteTargetName } from './targets.ts';

/** What the fuzzer hands a worker: one byte target's loop. */
export interface WorkerJob {
  readonly target: ByteTargetName;
  readonly seed: number;
  readonly frames: number;
  readonly budgetMs: number;
  readonly resumeAt?: number;
  readonly bounds: Bounds;
  readonly state: SharedArrayBuffer;
}

export type WorkerMessage = { type: 'failure'; failure: FuzzFailure } | { type: 'done' };

const job = workerData as WorkerJob;
const port = parentPort!;
const [target] = await byteTargets([job.target]);
runLoop(target!, {
  ...job,
  state: new LoopState(job.state),
  onFailure: (failure) => port.postMessage({ type: 'failure', failure } satisfies WorkerMessage),
});
port.postMessage({ type: 'done' } satisfies WorkerMessage);
