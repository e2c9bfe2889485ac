/** Where a coordinator is in its life. Only createCoordinator moves it on; its parts read it. */
export interface Phase {
  /** `options.catchUp` has settled: from then on the coordinator claims, expires and times out. */
  caughtUp: boolean;
  /** stop() was called: no more claims, starts, agents or submissions. */
  stopping: boolean;
  /** stop() is over: no pass or heartbeat runs any more. */
  stopped: boolean;
}
