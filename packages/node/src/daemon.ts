import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createCoordinator,
  createDocumentPools,
  createDocumentStore,
  systemClock,
  type Clock,
} from '@meshwork/coordinator';
import { createMeshNode, ListenAddressInUseError, MeshConfigError, type MeshNode } from '@meshwork/transport';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import type { SpanExporter } from '@opentelemetry/sdk-trace';
import { AddressInUseError } from './address-in-use.ts';
import { registerAgents } from './agents.ts';
import type { DaemonInfo } from './client.ts';
import { ConfigError } from './config-error.ts';
import type { ResolvedConfig, WebhookConfig } from './config.ts';
import { cachedActivity } from './dashboard/activity.ts';
import { dashboardAssets } from './dashboard/assets.ts';
import { meshView } from './dashboard/mesh-view.ts';
import { dashboardRoutes } from './dashboard/routes.ts';
import { isLoopback, startApiServer } from './http-server.ts';
import { apiKeyFor, nodeKey } from './identity.ts';
import { logCoordinatorEvents } from './coordinator-log.ts';
import { createLogger, type Logger } from './logger.ts';
import { logMembership } from './membership-log.ts';
import { createSharedMemory, type SharedMemory } from './memory/shared-memory.ts';
import { createNodeMcp } from './mcp/index.ts';
import { coordinationDocument, type MeshDocument } from './mesh-state.ts';
import { createMetrics } from './metrics.ts';
import { createNodeApi } from './node-api.ts';
import { EventLogError, persistDocument } from './persistence.ts';
import { createReloader, type ReloadReport } from './reload/reloader.ts';
import { reloadRoutes } from './reload/routes.ts';
import { contributeResources } from './resources.ts';
import { openStore } from './store.ts';
import { trackTaskHistory } from './task-history.ts';
import { transportStats } from './transport-stats.ts';
import { traceRequests } from './telemetry/http-spans.ts';
import { startTracing } from './telemetry/tracing.ts';
import { startWebhooks } from './webhooks/webhooks.ts';
import { createWorkerMetrics } from './workers/metrics.ts';
import type { WorkerService } from './workers/protocol.ts';
import { createWorkerService } from './workers/registry.ts';
import { workerRoutes } from './workers/routes.ts';

/** A running mesh node: SQLite-backed state, libp2p mesh, coordinator with the configured agents, HTTP API. */
export interface Daemon {
  /** The config in force: as started, with what reloads changed live. */
  readonly config: ResolvedConfig;
  readonly peerId: string;
  readonly url: string;
  readonly multiaddrs: string[];
  readonly apiKey: string;
  readonly logger: Logger;
  /** The node's shared memory, as `/v1/memory` serves it, for callers in this process. */
  readonly memory: SharedMemory;
  /** The pull-worker protocol, for front doors that call it without HTTP. */
  readonly workers: WorkerService;
  /**
   * Applies the config file again (or `next`): agents, log level and webhooks change live, other
   * changed keys are reported as needing a restart. Throws ConfigError, changing nothing, for an
   * invalid config; ReloadRefusedError while draining.
   */
  reload(next?: ResolvedConfig): ReloadReport;
  /** Graceful stop: stop claiming, drain running tasks, release leases, flush, leave the mesh. */
  stop(reason?: string): Promise<void>;
  /**
   * Resolves when the daemon has stopped. Rejects with an EventLogError when an event could not
   * be written: the daemon then stopped itself at once (fail-stop), without acknowledging, gossiping
   * or syncing that event; the process keeps running.
   */
  readonly stopped: Promise<void>;
}

/** Longest wait for the final sync round with one peer at shutdown. */
const FLUSH_TIMEOUT_MS = 3_000;

function readPsk(file: string): Uint8Array {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError([`pskFile: cannot read ${file} (${(err as Error).message})`]);
  }
}

/**
 * The coordinator writes from its timers. Once the event log has failed, those writes are refused
 * with the EventLogError that the fail-stop already handles: it must not end the process.
 */
const failStopClock: Clock = {
  now: () => systemClock.now(),
  setTimer: (fn, ms) =>
    systemClock.setTimer(() => {
      try {
        fn();
      } catch (err) {
        if (!(err instanceof EventLogError)) throw err;
      }
    }, ms),
};

export interface DaemonOptions {
  /** Reads the config again for `reload()` and SIGHUP: the file, flags and environment of the start. */
  readonly reloadConfig?: () => ResolvedConfig;
  /** Where the node's spans go besides `telemetry.otlp` (an embedder's own exporter); turns tracing on. */
  readonly spanExporter?: SpanExporter;
}

/**
 * Starts a daemon from a validated config. Throws if the store, mesh or HTTP port cannot be opened:
 * an AddressInUseError when a listen address is held by another process.
 */
export async function startDaemon(config: ResolvedConfig, options: DaemonOptions = {}): Promise<Daemon> {
  mkdirSync(config.dataDir, { recursive: true });
  const logger = createLogger({ level: config.logLevel, name: config.name, file: config.logFile });
  const store = openStore(config.dataDir, { sync: config.sync });
  const cleanups: (() => void | Promise<void>)[] = [() => store.close()];
  try {
    const apiKey = apiKeyFor(config);
    const privateKey = await nodeKey(store);
    const tracing = await startTracing(config.telemetry, {
      node: config.name,
      replica: peerIdFromPrivateKey(privateKey).toString(),
      logger,
      ...(options.spanExporter !== undefined && { exporter: options.spanExporter }),
    });
    // Last, after the mesh and the coordinator have stopped: what they recorded is exported.
    cleanups.push(() => tracing.shutdown());
    const tracerProvider = tracing.provider;
    const mesh: MeshNode<MeshDocument> = await createMeshNode({
      listen: config.listen,
      bootstrap: config.bootstrap,
      privateKey,
      ...(tracerProvider !== undefined && { tracerProvider }),
      ...(config.swarmKey !== undefined
        ? { psk: config.swarmKey }
        : config.pskFile !== undefined
          ? { psk: readPsk(config.pskFile) }
          : {}),
      ...(config.allowList !== undefined ? { allow: config.allowList } : {}),
      ...(config.mdns && { mdns: true }),
      ...(config.topology !== undefined && { topology: config.topology }),
      logger,
    }).catch((err: unknown) => {
      // The transport names the option it rejected (listen[0], bootstrap[1], ...): a config error.
      if (err instanceof MeshConfigError) throw new ConfigError([err.message]);
      if (err instanceof ListenAddressInUseError)
        throw new AddressInUseError(err.address, 'listen', { cause: err });
      throw err;
    });
    cleanups.unshift(() => mesh.stop());
    const replica = mesh.replica;

    // Persistence listens first, so an event is in SQLite before the transport can gossip it
    // and before the call that made it returns.
    const doc = coordinationDocument(replica, config.eventLog);
    // Fail-stop: an event that is not durable must not be acknowledged, gossiped or synced, or a
    // restart would reuse its sequence number for different content. Persistence refuses it (and
    // every later one) before the transport sees it; failing before the daemon is up fails the start.
    const failure: { error?: EventLogError } = {};
    let failStop = (_err: EventLogError): void => {};
    const onWriteError = (err: EventLogError): void => {
      failure.error = err;
      logger.fatal({ err }, 'cannot write to the event log; stopping');
      failStop(err);
    };
    const persistence = persistDocument(doc, store, {
      compactAfterEvents: config.compactAfterEvents,
      onWriteError,
      onQuarantine: (item, err) =>
        logger.error({ item, err, db: store.path }, 'stored state cannot be restored; moved to quarantine'),
    });
    cleanups.unshift(() => persistence.detach());
    logger.info({ restoredEvents: persistence.restoredEvents, db: store.path }, 'state restored');
    // A first start with nobody to dial has no state to be stale about: it need not wait for peers.
    const firstAndAlone = config.bootstrap.length === 0 && doc.digest().size === 0;
    let storeEvents = 0;
    doc.on('change', () => storeEvents++);
    // Restored and attached before the catch-up, so its first rounds carry shared memory too.
    const memory = createSharedMemory({
      replica,
      store,
      mesh,
      limits: { maxDocuments: config.limits.maxMemoryDocuments, maxMembers: config.limits.maxMemoryMembers },
      compactAfterEvents: config.compactAfterEvents,
      onWriteError,
      logger,
    });
    cleanups.unshift(() => memory.close());
    // Before the transport listens, so the contribution is committed before it can be gossiped.
    const pools = createDocumentPools(doc);
    contributeResources(config, store, pools, logger);
    mesh.attach(doc);
    // Claims wait for this: a restored state misses what the others did while this node was away.
    const caughtUp = mesh
      .catchUp(firstAndAlone ? { ...config.catchUp, connectMs: 0 } : config.catchUp)
      .then((report) =>
        logger.info(
          { peers: report.peers.length, timedOut: report.timedOut, ms: Math.round(report.durationMs) },
          'caught up with peers; claiming',
        ),
      );

    const records = createDocumentStore(doc);
    const coordinator = createCoordinator({
      document: doc,
      store: records,
      resources: pools,
      presence: mesh.presence,
      retention: config.retention,
      catchUp: caughtUp,
      clock: failStopClock,
      ...(tracerProvider !== undefined && { tracerProvider }),
    });
    cleanups.unshift(() => coordinator.stop({ drainMs: 0 }));
    const agents = registerAgents(coordinator, config.agents, config.name, logger);
    const history = trackTaskHistory(coordinator, records, store, config.archive);
    cleanups.unshift(() => history.stop());

    const metrics = createMetrics({
      tasksByState: () => coordinator.counts(),
      transport: () => transportStats(mesh),
      storeEvents: () => storeEvents + memory.storedEvents(),
      agentHealth: () =>
        coordinator
          .agents()
          .filter((a) => a.node === replica && !a.retired)
          .map((a) => ({ agent: a.id, degraded: a.stats.health?.degraded === true })),
      settleWindowMs: () => coordinator.settleMs(),
    });
    metrics.quarantined('event', persistence.quarantined.events + memory.quarantined.events);
    metrics.quarantined('snapshot', persistence.quarantined.snapshots + memory.quarantined.snapshots);
    const workers = createWorkerService({
      coordinator,
      nodeName: config.name,
      settings: config.workers,
      logger,
      metrics: createWorkerMetrics(metrics.registry),
    });
    cleanups.unshift(() => workers.stop());
    const webhooksFor = (hooks: readonly WebhookConfig[]) =>
      startWebhooks({
        coordinator,
        hooks,
        dbPath: store.path,
        sync: config.sync,
        node: config.name,
        keepMs: config.archive.keepMs,
        logger,
        registry: metrics.registry,
      });
    let webhooks = webhooksFor(config.webhooks);
    cleanups.unshift(() => webhooks.stop());
    const isLocalAgent = (agent: string): boolean => agents.isLocal(agent) || workers.hasAgent(agent);
    coordinator.events.on('start', (e) => {
      if (isLocalAgent(e.agent))
        metrics.attemptStarted(e.epoch === 1 ? (e.at - e.submittedAt) / 1000 : undefined);
    });
    coordinator.events.on('attempt', (e) => {
      if (isLocalAgent(e.agent)) metrics.attemptEnded(e.outcome, (e.endedAt - e.startedAt) / 1000);
    });
    coordinator.events.on('failover', () => metrics.failover());
    coordinator.events.on('stalled', (e) => {
      if (e.reason === 'woke') metrics.stalled();
    });
    coordinator.events.on('isolated', () => metrics.isolated());
    logCoordinatorEvents(coordinator.events, logger);
    logMembership(mesh.presence, logger);
    mesh.metrics.on('event', (e) => {
      if (e.type === 'rejected')
        logger.warn({ peer: e.peer, reason: e.reason, detail: e.detail }, 'peer message rejected');
    });

    let draining = false;
    let url = '';
    const reloader = createReloader({
      initial: config,
      load: options.reloadConfig,
      agents,
      logger,
      restartWebhooks: (hooks) => {
        webhooks.stop();
        webhooks = webhooksFor(hooks);
      },
      setAllowList: (peers) => mesh.setAllowList(peers),
      agentTaken: (id) => workers.hasAgent(id),
      draining: () => draining,
    });
    const nodeApi = createNodeApi({
      config,
      coordinator,
      mesh,
      pools,
      store,
      documentName: doc.name,
      metrics,
      memory,
      draining: () => draining,
      url: () => url,
      localAgents: () => agents.ids(),
    });
    cleanups.unshift(() => nodeApi.stop());
    const mcp = createNodeMcp({
      api: nodeApi.api,
      workers,
      memory,
      logger,
      registry: metrics.registry,
      settings: config.mcp,
    });
    cleanups.unshift(() => mcp.close());
    const server = await startApiServer(nodeApi.api, {
      host: config.http.host,
      port: config.http.port,
      apiKey,
      maxBodyBytes: config.http.maxBodyBytes,
      readsNeedKey: !isLoopback(config.http.host),
      maxEventStreams: config.limits.maxEventStreams,
      eventStreamBufferBytes: config.limits.eventStreamBufferBytes,
      onThrottled: (reason) => metrics.throttled(reason),
      onStreamDropped: () => metrics.streamDropped(),
      onEventStreams: (open) => metrics.eventStreams(open),
      routes: [
        ...workerRoutes(workers),
        ...mcp.routes,
        ...reloadRoutes(reloader),
        ...dashboardRoutes({
          assets: dashboardAssets(),
          mesh: () => meshView(mesh, coordinator, config.name),
          activity: cachedActivity(coordinator),
        }),
      ],
      ...(tracerProvider !== undefined && { aroundRequest: traceRequests(tracerProvider) }),
      onRequest: (method, route, status, ms) => {
        metrics.httpRequest(method, route, status, ms / 1000);
        logger.debug({ method, route, status, ms: Math.round(ms) }, 'http request');
      },
    }).catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE')
        throw new AddressInUseError(`${config.http.host}:${config.http.port}`, 'http.port', { cause: err });
      throw err;
    });
    cleanups.unshift(() => server.close());
    url = server.url;
    // Failed while starting, from a write nobody awaited (a coordinator timer, a peer's update).
    if (failure.error !== undefined) throw failure.error;

    const info: DaemonInfo = {
      node: config.name,
      pid: process.pid,
      url,
      peerId: replica,
      multiaddrs: mesh.multiaddrs.map(String),
    };
    const infoFile = join(config.dataDir, 'daemon.json');
    // Written whole and renamed into place, so a client polling for it never reads half a file.
    writeFileSync(`${infoFile}.tmp`, JSON.stringify(info, null, 2));
    renameSync(`${infoFile}.tmp`, infoFile);
    // `node` and `pid` are on every line already (the logger's base): a JSON line names each key once.
    logger.info(
      { url, peerId: replica, multiaddrs: info.multiaddrs, agents: config.agents.map((a) => a.id) },
      'node started',
    );

    let resolveStopped!: () => void;
    let rejectStopped!: (err: EventLogError) => void;
    const stopped = new Promise<void>((resolve, reject) => {
      resolveStopped = resolve;
      rejectStopped = reject;
    });
    // An embedder that never awaits `stopped` must not have its process ended by the rejection.
    stopped.catch(() => undefined);
    let stopping: Promise<void> | undefined;

    const stop = (reason = 'stop requested'): Promise<void> => {
      stopping ??= (async () => {
        draining = true;
        logger.info({ reason, drainTimeoutMs: config.drainTimeoutMs }, 'draining');
        await coordinator.stop({ drainMs: config.drainTimeoutMs });
        workers.stop();
        history.syncAll();
        webhooks.stop();
        // Flush: a final anti-entropy round with every peer, so the last results and lease
        // releases are not left to gossip that may still be in flight when libp2p stops.
        await Promise.all(
          mesh
            .peers()
            .map((peer) =>
              Promise.race([
                mesh.sync(peer),
                new Promise<void>((r) => setTimeout(r, FLUSH_TIMEOUT_MS).unref()),
              ]).catch((err: unknown) =>
                logger.info(
                  { peer, reason: err instanceof Error ? err.message : String(err) },
                  'final sync skipped (peer gone?)',
                ),
              ),
            ),
        );
        logger.info('leases released and state flushed; leaving the mesh');
        history.stop();
        nodeApi.stop();
        await mcp.close();
        await server.close();
        await mesh.stop();
        persistence.detach();
        memory.close();
        store.close();
        rmSync(infoFile, { force: true });
        await tracing.shutdown();
        logger.info('stopped');
        logger.flush();
        resolveStopped();
      })();
      return stopping;
    };

    failStop = (err: EventLogError) => {
      // At once, in the write's own call stack: no further gossip or sync round reads the Document.
      mesh.detach(doc.name);
      memory.stopSyncing();
      draining = true;
      const graceful = stopping ?? Promise.resolve();
      stopping = graceful
        .catch(() => undefined)
        .then(async () => {
          // Best effort, in the order of a graceful stop but without its writes (they would be refused).
          history.stop();
          const steps: (() => void | Promise<void>)[] = [
            () => coordinator.stop({ drainMs: 0 }),
            () => workers.stop(),
            () => webhooks.stop(),
            () => nodeApi.stop(),
            () => mcp.close(),
            () => server.close(),
            () => mesh.stop(),
            () => persistence.detach(),
            () => memory.close(),
            () => store.close(),
            () => rmSync(infoFile, { force: true }),
            () => tracing.shutdown(),
          ];
          for (const step of steps) {
            try {
              await step();
            } catch {
              // Already stopped, or refused like the write that failed: stopping goes on.
            }
          }
          logger.flush();
          rejectStopped(err);
        });
    };

    return {
      get config() {
        return reloader.current();
      },
      reload: (next) => reloader.reload(next),
      peerId: replica,
      url,
      multiaddrs: info.multiaddrs,
      apiKey,
      logger,
      memory,
      workers,
      stop,
      stopped,
    };
  } catch (err) {
    for (const cleanup of cleanups) {
      try {
        await cleanup();
      } catch {
        // Best effort: the original error is what matters.
      }
    }
    logger.flush();
    throw err;
  }
}
