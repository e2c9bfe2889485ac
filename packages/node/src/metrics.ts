import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { VERSION } from './version.ts';

/** Cumulative transport counters, read at scrape time. */
export interface TransportStats {
  /** Per protocol (e.g. gossip, sync) and direction (in, out). */
  traffic: { protocol: string; direction: 'in' | 'out'; messages: number; bytes: number }[];
  rejected: { reason: string; count: number }[];
  /** Connections refused at admission, by reason (pnet, allow-list, denied). */
  refused: { reason: string; count: number }[];
  peers: number;
  syncRounds: number;
  /** Snapshots sent in rounds, to peers too far behind for an update. */
  syncSnapshots: number;
  /** Links this node closed after they carried nothing, heartbeats included, for too long. */
  silentLinks: number;
  /**
   * Events received from peers: new ones applied, by how they came (gossip, sync), and those this
   * node held already (`via: any`), which is what redundant delivery costs.
   */
  eventsReceived: { via: string; outcome: 'applied' | 'duplicate'; count: number }[];
}

export interface MetricSources {
  /** Task counts by derived status, over every task this replica knows. */
  tasksByState(): Record<string, number>;
  transport(): TransportStats | undefined;
  /** CRDT events appended to the SQLite log since start. */
  storeEvents(): number;
  /** This node's agents and whether each is degraded (see the coordinator's agent health). */
  agentHealth?(): readonly { readonly agent: string; readonly degraded: boolean }[];
  /** The coordinator's settle window now, in ms (twice the measured p99 delivery delay, bounded). */
  readonly settleWindowMs?: () => number;
}

export interface NodeMetrics {
  readonly registry: Registry;
  /**
   * An attempt started on one of this node's agents; `submitToStartSeconds` is set for a task's
   * first attempt: the time from its submission to this start.
   */
  attemptStarted(submitToStartSeconds: number | undefined): void;
  /** This replica declared a task's holder lost, so another agent can take it. */
  failover(): void;
  /** This node ran nothing for more than half a lease (see the coordinator's `stalled` event). */
  stalled(): void;
  /** This node lost every other node at once and holds (see the coordinator's `isolated` event). */
  isolated(): void;
  /** An attempt on one of this node's agents ended with `outcome` after running `runSeconds`. */
  attemptEnded(outcome: string, runSeconds: number): void;
  /** A request was answered; `seconds` from its arrival to the end of its response. */
  httpRequest(method: string, route: string, status: number, seconds?: number): void;
  /** A request was refused with 429; `reason` is its error code. */
  throttled(reason: string): void;
  /** An event-stream client was dropped for reading too slowly. */
  streamDropped(): void;
  /** Event-stream clients connected now. */
  eventStreams(open: number): void;
  /** Stored events or snapshot chunks that could not be restored and were set aside. */
  quarantined(kind: 'event' | 'snapshot', count: number): void;
  render(): Promise<{ contentType: string; body: string }>;
}

/**
 * A counter that mirrors cumulative values kept elsewhere (the transport, the store), read at
 * scrape time. prom-client counters only go up by increments, so it remembers what it reported
 * last per label set.
 */
function mirroredCounter(
  registry: Registry,
  name: string,
  help: string,
  labelNames: string[],
  read: () => { labels: Record<string, string>; value: number }[],
): void {
  const last = new Map<string, number>();
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      for (const { labels, value } of read()) {
        const key = JSON.stringify(labels);
        const before = last.get(key);
        // A series is present from the first scrape, at 0 too: an alert on it needs no absent().
        if (before === undefined || value > before) {
          this.inc(labels, value - (before ?? 0));
          last.set(key, value);
        }
      }
    },
  });
}

/** Outcomes an attempt ends with (the coordinator's `AttemptOutcome`), each a series from the start. */
const ATTEMPT_OUTCOMES = ['succeeded', 'failed', 'timed-out', 'cancelled', 'fenced'];

/**
 * The daemon's Prometheus registry: task, attempt and claim figures from the coordinator, traffic
 * figures from the transport, the build, and Node's default process metrics (including event-loop
 * lag, `nodejs_eventloop_lag_seconds`).
 */
export function createMetrics(sources: MetricSources): NodeMetrics {
  const registry = new Registry();
  // The lag is sampled every second: at 20 ms the sampling timer alone was a third of an idle
  // daemon's CPU, and at 200 ms a quarter of its event-loop wake-ups. A stall of a second or more
  // is always seen, a shorter one as often as it is long.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 1000 });

  new Gauge({
    name: 'meshwork_tasks',
    help: 'Tasks known to this replica, by derived status',
    labelNames: ['status'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [status, n] of Object.entries(sources.tasksByState())) this.set({ status }, n);
    },
  });
  if (sources.settleWindowMs !== undefined) {
    const settleWindowMs = sources.settleWindowMs;
    new Gauge({
      name: 'meshwork_settle_window_seconds',
      help: 'How long a claim waits for rival claims before its task starts: twice the p99 delivery delay this node measures, bounded; it also paces failover',
      registers: [registry],
      collect() {
        this.set(settleWindowMs() / 1000);
      },
    });
  }
  new Gauge({
    name: 'meshwork_build_info',
    help: 'Always 1: the meshwork version and the Node.js version this node runs',
    labelNames: ['version', 'node'],
    registers: [registry],
  }).set({ version: VERSION, node: process.version }, 1);
  const started = new Counter({
    name: 'meshwork_attempts_started_total',
    help: 'Task attempts started on agents of this node',
    registers: [registry],
  });
  const outcomes = new Counter({
    name: 'meshwork_attempt_outcomes_total',
    help: 'Task attempts on agents of this node that ended, by outcome (succeeded, failed, timed-out, cancelled, fenced)',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const runDuration = new Histogram({
    name: 'meshwork_attempt_duration_seconds',
    help: 'How long task attempts on agents of this node ran, from start to end, by outcome',
    labelNames: ['outcome'],
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600],
    registers: [registry],
  });
  for (const outcome of ATTEMPT_OUTCOMES) outcomes.inc({ outcome }, 0);
  const submitToStart = new Histogram({
    name: 'meshwork_task_submit_to_start_seconds',
    help: "Time from a task's submission to its first attempt starting, for first attempts on agents of this node",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const failovers = new Counter({
    name: 'meshwork_failovers_total',
    help: 'Tasks whose holder this replica declared lost (lease expired or node suspected), freeing them for another agent',
    registers: [registry],
  });
  const stalls = new Counter({
    name: 'meshwork_stalls_total',
    help: "Times this node's event loop ran nothing for more than half a lease (blocked or starved of CPU); each is followed by a hold",
    registers: [registry],
  });
  const isolations = new Counter({
    name: 'meshwork_isolations_total',
    help: 'Times this node lost every other node at once (its last links closed) and held until it reached the mesh again',
    registers: [registry],
  });
  mirroredCounter(
    registry,
    'meshwork_store_events_total',
    'CRDT events appended to the SQLite event log',
    [],
    () => [{ labels: {}, value: sources.storeEvents() }],
  );
  const httpRequests = new Counter({
    name: 'meshwork_http_requests_total',
    help: 'HTTP API requests, by method, route and status',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  });
  const httpDuration = new Histogram({
    name: 'meshwork_http_request_duration_seconds',
    help: 'HTTP API requests, from arrival to the end of the response, by method and route (event streams: until the response is ended)',
    labelNames: ['method', 'route'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  });
  const throttled = new Counter({
    name: 'meshwork_http_throttled_total',
    help: 'API requests refused with 429, by reason (too_many_open_tasks, overloaded, too_many_streams)',
    labelNames: ['reason'],
    registers: [registry],
  });
  const dropped = new Counter({
    name: 'meshwork_sse_dropped_total',
    help: 'Event-stream clients dropped because they fell too far behind',
    registers: [registry],
  });
  const streams = new Gauge({
    name: 'meshwork_sse_clients',
    help: 'Event-stream clients connected',
    registers: [registry],
  });
  const quarantined = new Counter({
    name: 'meshwork_quarantined_events_total',
    help: 'Stored events (kind=event) or snapshot chunks (kind=snapshot) that could not be restored at startup and were moved to the quarantine table',
    labelNames: ['kind'],
    registers: [registry],
  });
  // Present from the first scrape, so an alert on it needs no absent() clause.
  quarantined.inc({ kind: 'event' }, 0);
  quarantined.inc({ kind: 'snapshot' }, 0);
  const traffic = (field: 'bytes' | 'messages') => () =>
    (sources.transport()?.traffic ?? []).map((t) => ({
      labels: { protocol: t.protocol, direction: t.direction },
      value: t[field],
    }));
  mirroredCounter(
    registry,
    'meshwork_transport_bytes_total',
    'Bytes sent and received, by protocol and direction',
    ['protocol', 'direction'],
    traffic('bytes'),
  );
  mirroredCounter(
    registry,
    'meshwork_transport_messages_total',
    'Messages sent and received, by protocol and direction',
    ['protocol', 'direction'],
    traffic('messages'),
  );
  mirroredCounter(
    registry,
    'meshwork_transport_rejected_total',
    'Messages from peers dropped as invalid, by reason',
    ['reason'],
    () =>
      (sources.transport()?.rejected ?? []).map((r) => ({ labels: { reason: r.reason }, value: r.count })),
  );
  mirroredCounter(
    registry,
    'meshwork_connections_refused_total',
    'Connections refused at admission, by reason (pnet: wrong or missing pre-shared key, allow-list, denied)',
    ['reason'],
    () => (sources.transport()?.refused ?? []).map((r) => ({ labels: { reason: r.reason }, value: r.count })),
  );
  new Gauge({
    name: 'meshwork_peers',
    help: 'Peers currently connected',
    registers: [registry],
    collect() {
      this.set(sources.transport()?.peers ?? 0);
    },
  });
  new Gauge({
    name: 'meshwork_agent_degraded',
    help: '1 while an agent of this node is degraded (its latency or failure rate far from its own baseline), else 0',
    labelNames: ['agent'],
    registers: [registry],
    collect() {
      // Reset first: an agent removed since the last scrape leaves no stale series.
      this.reset();
      for (const { agent, degraded } of sources.agentHealth?.() ?? []) this.set({ agent }, degraded ? 1 : 0);
    },
  });
  mirroredCounter(
    registry,
    'meshwork_silent_links_closed_total',
    'Links closed by this node after they carried nothing, heartbeats included, for too long (a stalled or cut-off peer)',
    [],
    () => [{ labels: {}, value: sources.transport()?.silentLinks ?? 0 }],
  );
  mirroredCounter(registry, 'meshwork_sync_rounds_total', 'Anti-entropy rounds completed', [], () => [
    { labels: {}, value: sources.transport()?.syncRounds ?? 0 },
  ]);
  mirroredCounter(
    registry,
    'meshwork_sync_snapshots_total',
    'Snapshots sent in anti-entropy rounds, to peers too far behind for an update',
    [],
    () => [{ labels: {}, value: sources.transport()?.syncSnapshots ?? 0 }],
  );
  mirroredCounter(
    registry,
    'meshwork_events_received_total',
    'CRDT events received from peers: applied (by gossip or sync), or duplicate (held already)',
    ['via', 'outcome'],
    () =>
      (sources.transport()?.eventsReceived ?? []).map((e) => ({
        labels: { via: e.via, outcome: e.outcome },
        value: e.count,
      })),
  );

  return {
    registry,
    attemptStarted(submitToStartSeconds) {
      started.inc();
      if (submitToStartSeconds !== undefined && submitToStartSeconds >= 0)
        submitToStart.observe(submitToStartSeconds);
    },
    failover() {
      failovers.inc();
    },
    stalled() {
      stalls.inc();
    },
    isolated() {
      isolations.inc();
    },
    attemptEnded(outcome, runSeconds) {
      outcomes.inc({ outcome });
      // A wall clock stepped back between the start and the end would make it negative.
      if (runSeconds >= 0) runDuration.observe({ outcome }, runSeconds);
    },
    httpRequest(method, route, status, seconds) {
      httpRequests.inc({ method, route, status: String(status) });
      if (seconds !== undefined && seconds >= 0) httpDuration.observe({ method, route }, seconds);
    },
    throttled(reason) {
      throttled.inc({ reason });
    },
    streamDropped() {
      dropped.inc();
    },
    eventStreams(open) {
      streams.set(open);
    },
    quarantined(kind, count) {
      quarantined.inc({ kind }, count);
    },
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
