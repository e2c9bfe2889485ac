import { Counter, Gauge, type Registry } from 'prom-client';

export interface WorkerMetrics {
  /** Workers registered now. */
  workers(count: number): void;
  /** A worker's registration expired (it stopped calling) and its tasks went to other agents. */
  expired(): void;
  /** A worker call was refused, with the error code it got. */
  refused(code: string): void;
}

/** Pull-worker figures, registered on the node's Prometheus registry. */
export function createWorkerMetrics(registry: Registry): WorkerMetrics {
  const workers = new Gauge({
    name: 'meshwork_workers',
    help: 'Pull workers registered on this node',
    registers: [registry],
  });
  const expired = new Counter({
    name: 'meshwork_worker_expirations_total',
    help: 'Pull workers whose registration expired (no call for workers.leaseMs), their tasks handed to other agents',
    registers: [registry],
  });
  const refused = new Counter({
    name: 'meshwork_worker_refusals_total',
    help: 'Pull-worker calls refused, by error code (stale_attempt, not_held, unknown_worker, …)',
    labelNames: ['code'],
    registers: [registry],
  });
  workers.set(0);
  expired.inc(0);
  return {
    workers: (count) => workers.set(count),
    expired: () => expired.inc(),
    refused: (code) => refused.inc({ code }),
  };
}
