import type { PullWorker } from './pull-worker.ts';

export interface LeaseDeps {
  readonly leaseMs: number;
  readonly now: () => number;
  /** Whether `w` is still the registered worker of its id. */
  readonly registered: (w: PullWorker) => boolean;
  /** Called once `leaseMs` has passed since the worker's last call. */
  readonly expire: (w: PullWorker) => void;
}

/** Expires a worker once `leaseMs` has passed since its last call; every call renews `lastSeen`. */
export function armLease(w: PullWorker, deps: LeaseDeps): void {
  const { leaseMs, now, registered, expire } = deps;
  w.timer = setTimeout(
    () => {
      if (!registered(w)) return;
      if (now() - w.lastSeen < leaseMs) return armLease(w, deps);
      // Calls that arrived while the event loop was busy are read (and renew the lease) first.
      setImmediate(() => {
        if (!registered(w)) return;
        if (now() - w.lastSeen < leaseMs) return armLease(w, deps);
        expire(w);
      });
    },
    Math.max(0, w.lastSeen + leaseMs - now()),
  );
  w.timer.unref();
}
