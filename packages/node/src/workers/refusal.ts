import { WorkerError, type WorkerErrorCode } from './errors.ts';
import type { WorkerMetrics } from './metrics.ts';

/** Makes the error a refused worker call throws, counting it by code. */
export type Refuse = (code: WorkerErrorCode, message: string, field?: string) => WorkerError;

export function createRefuse(metrics: WorkerMetrics): Refuse {
  return (code, message, field) => {
    metrics.refused(code);
    return new WorkerError(code, message, field);
  };
}
