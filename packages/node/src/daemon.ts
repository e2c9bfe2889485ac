import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import {
  CoordinatorError,
  createCoordinator,
  createDocumentPools,
  createDocumentStore,
  PermanentTaskError,
  type AgentView,
  type AttemptRow,
  type Coordinator,
  type DocumentPools,
  type TaskView,
  type WorkflowTemplate,
  type WorkflowView,
} from '@meshwork/coordinator';
import type { Value } from '@meshwork/core';
import { createMeshNode, type MeshNode } from '@meshwork/transport';
import type { SubmitTaskBody, StartWorkflowBody, ListTasksQuery } from './api-schema.ts';
import type { DaemonInfo } from './client.ts';
import type { ResolvedConfig } from './config.ts';
import { coordinationDocument, documentRuntime, type MeshDocument } from './mesh-state.ts';
import {
  allowedExecutors,
  execute,
  executorCapability,
  executorOf,
  ExecutorError,
  ExecutorInputError,
  ExecutorNotAllowedError,
} from './executors/index.ts';
import {
  ApiError,
  startApiServer,
  type ApiServer,
  type Json,
  type LiveEvent,
  type NodeApi,
} from './http-server.ts';
import { createLogger, type Logger } from './logger.ts';
import { createMetrics, type TransportStats } from './metrics.ts';
import { persistDocument, type DocumentPersistence } from './persistence.ts';
import { openStore, type NodeStore } from './store.ts';

/** A running mesh node: SQLite-backed state, libp2p mesh, coordinator with the configured agents, HTTP API. */
export interface Daemon {
  readonly config: ResolvedConfig;
  readonly peerId: string;
  readonly url: string;
  readonly multiaddrs: string[];
  readonly apiKey: string;
  readonly logger: Logger;
  /** Graceful stop: stop claiming, drain running tasks, release leases, flush, leave the mesh. */
  stop(reason?: string): Promise<void>;
  /** Resolves when the daemon has stopped. */
  readonly stopped: Promise<void>;
}

const NODE_KEY = 'node-key';
/** Longest wait for the final sync round with one peer at shutdown. */
const FLUSH_TIMEOUT_MS = 3_000;

async function nodeKey(store: NodeStore): Promise<PrivateKey> {
  const saved = store.getMeta(NODE_KEY);
  if (saved !== undefined) return privateKeyFromProtobuf(saved);
  const key = await generateKeyPair('Ed25519');
  store.setMeta(NODE_KEY, privateKeyToProtobuf(key));
  return key;
}

/** The configured key, else the one kept in `<dataDir>/api-key`, else a new one written there (mode 0600). */
function apiKeyFor(config: ResolvedConfig): string {
  if (config.apiKey !== undefined) return config.apiKey;
  const file = join(config.dataDir, 'api-key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const key = randomBytes(24).toString('base64url');
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return key;
}

function toJson(v: unknown): Json {
  return JSON.parse(
    JSON.stringify(v, (_k, x: unknown) => (x instanceof Uint8Array ? Buffer.from(x).toString('base64') : x)),
  ) as Json;
}

function taskJson(t: TaskView): Json {
  return toJson({
    id: t.id,
    type: t.spec.type,
    status: t.status,
    epoch: t.epoch,
    attempts: t.attemptsUsed,
    agent: t.agent,
    needs: t.spec.needs,
    input: t.spec.input,
    priority: t.spec.priority,
    dependsOn: t.spec.dependsOn,
    submittedAt: t.spec.submittedAt,
    submittedBy: t.spec.submittedBy,
    workflow: t.spec.workflow,
    result: t.result,
    error: t.error,
    progress: t.progress,
  });
}

function workflowJson(w: WorkflowView): Json {
  return toJson({ id: w.run, ...w });
}

/** A field of a record read from shared state, if the record is a plain object. */
function fieldOf(record: Value | undefined, name: string): Value | undefined {
  if (typeof record !== 'object' || record === null || Array.isArray(record) || record instanceof Uint8Array)
    return undefined;
  return (record as { readonly [key: string]: Value })[name];
}

/** Maps the coordinator's typed errors onto HTTP statuses; `field` carries over to the 400 body. */
function coordinatorCall<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (!(err instanceof CoordinatorError)) throw err;
    const status = err.code === 'unknown-task' ? 404 : err.code === 'stopped' ? 503 : 400;
    throw new ApiError(status, status === 400 ? 'invalid_request' : err.code, err.message, err.field);
  }
}

function unique<T>(xs: readonly T[]): T[] {
  return [...new Set(xs)];
}

const CONTRIBUTED = 'resources-contributed';

/**
 * Adds the pool units the config declares beyond what this node contributed before. The
 * increment's event and the new total commit in one SQLite transaction, so a crash can neither
 * lose the contribution nor make a restart add it twice. Units are never withdrawn: lowering a
 * pool in the config only logs a warning.
 */
function contributeResources(
  config: ResolvedConfig,
  store: NodeStore,
  pools: DocumentPools,
  logger: Logger,
): void {
  const saved = store.getMeta(CONTRIBUTED);
  const contributed = saved
    ? (JSON.parse(Buffer.from(saved).toString('utf8')) as Record<string, number>)
    : {};
  for (const [pool, units] of Object.entries(config.resources)) {
    const before = contributed[pool] ?? 0;
    if (units < before) {
      logger.warn(
        { pool, configured: units, contributed: before },
        'pool units cannot be withdrawn; keeping them',
      );
      continue;
    }
    if (units === before) continue;
    store.transaction(() => {
      pools.add(pool, units - before);
      contributed[pool] = units;
      store.setMeta(CONTRIBUTED, Buffer.from(JSON.stringify(contributed)));
    });
    logger.info({ pool, added: units - before, total: units }, 'contributed pool units');
  }
}

/** Starts a daemon from a validated config. Throws if the store, mesh or HTTP port cannot be opened. */
export async function startDaemon(config: ResolvedConfig): Promise<Daemon> {
  mkdirSync(config.dataDir, { recursive: true });
  const logger = createLogger({ level: config.logLevel, name: config.name, file: config.logFile });
  const store = openStore(config.dataDir, { sync: config.sync });
  const cleanups: (() => void | Promise<void>)[] = [() => store.close()];
  try {
    const apiKey = apiKeyFor(config);
    const privateKey = await nodeKey(store);
    const psk = config.pskFile !== undefined ? readFileSync(config.pskFile) : undefined;

    const mesh: MeshNode<MeshDocument> = await createMeshNode({
      listen: config.listen,
      bootstrap: config.bootstrap,
      privateKey,
      ...(psk !== undefined ? { psk } : {}),
      ...(config.allowList !== undefined ? { allow: config.allowList } : {}),
      runtime: documentRuntime,
    });
    cleanups.unshift(() => mesh.stop());
    const replica = mesh.replica;

    // Persistence listens first, so an event is in SQLite before the transport can gossip it
    // and before the call that made it returns.
    const doc = coordinationDocument(replica);
    const persistence: DocumentPersistence = persistDocument(doc, store, {
      compactAfterEvents: config.compactAfterEvents,
    });
    cleanups.unshift(() => persistence.detach());
    logger.info({ restoredEvents: persistence.restoredEvents, db: store.path }, 'state restored');
    const storeEvents = { count: 0 };
    doc.on('change', () => storeEvents.count++);
    // Before the transport listens, so the contribution is committed before it can be gossiped.
    const pools = createDocumentPools(doc);
    contributeResources(config, store, pools, logger);
    mesh.attach(doc);

    const coordinationStore = createDocumentStore(doc);
    const coordinator: Coordinator = createCoordinator({
      document: doc,
      store: coordinationStore,
      resources: pools,
      presence: mesh.presence,
    });
    const localAgents = new Set(config.agents.map((a) => a.id));

    for (const agent of config.agents) {
      const executors = allowedExecutors(agent);
      coordinator.registerAgent({
        id: agent.id,
        capabilities: unique([...agent.capabilities, ...executors.map(executorCapability)]),
        capacity: agent.capacity,
        metadata: { node: config.name, executors },
        handler: async (task, ctx) => {
          const log = logger.child({ task: task.id, agent: agent.id, epoch: ctx.epoch });
          log.info('attempt started');
          try {
            const result = await execute(agent, ctx.input, ctx);
            log.info('attempt succeeded');
            return result;
          } catch (err) {
            log.warn({ err }, 'attempt failed');
            // Bad input or a forbidden executor fail the same way on every retry.
            if (err instanceof ExecutorInputError || err instanceof ExecutorNotAllowedError) {
              throw new PermanentTaskError(err.message);
            }
            if (err instanceof ExecutorError && err.code === 'not_allowed')
              throw new PermanentTaskError(err.message);
            throw err;
          }
        },
      });
    }

    // Task history: every attempt this replica learns of, mesh-wide, kept in SQLite. An attempt
    // that never reported an end was released by its draining node or declared lost (expired).
    const recordHistory = (rows: readonly AttemptRow[]): void => {
      for (const r of rows) {
        let { endedAt, outcome }: { endedAt: number | null; outcome: string } = r;
        if (outcome === 'running') {
          const expiry = coordinationStore.get('expiry', `${r.task}|${r.epoch}`);
          const at = fieldOf(expiry, 'at');
          if (typeof at === 'number') {
            endedAt = at;
            outcome = fieldOf(expiry, 'by') === r.node ? 'released' : 'expired';
          }
        }
        store.recordAttempt({
          task: r.task,
          attempt: r.attempt,
          agent: r.agent,
          epoch: r.epoch,
          startedAt: r.startedAt,
          endedAt,
          outcome,
        });
      }
    };
    for (const t of coordinator.list()) recordHistory(coordinator.attempts(t.id));
    // Attempt records arrive from anywhere on the mesh; refresh those tasks' rows once the
    // coordinator has indexed the change (its listener runs before this one).
    const historyDue = new Set<string>();
    let historyTimer: NodeJS.Immediate | undefined;
    const flushHistory = (): void => {
      historyTimer = undefined;
      for (const task of historyDue) recordHistory(coordinator.attempts(task));
      historyDue.clear();
    };
    const stopHistory = coordinationStore.onChange((changes) => {
      for (const c of changes) {
        if (c.kind !== 'start' && c.kind !== 'end' && c.kind !== 'expiry') continue;
        const task = fieldOf(coordinationStore.get(c.kind, c.key), 'task');
        if (typeof task === 'string') historyDue.add(task);
      }
      if (historyDue.size > 0) historyTimer ??= setImmediate(flushHistory);
    });
    cleanups.unshift(() => {
      stopHistory();
      if (historyTimer !== undefined) clearImmediate(historyTimer);
    });

    const subscribers = new Set<(e: LiveEvent) => void>();
    const broadcast = (e: LiveEvent): void => {
      for (const l of subscribers) l(e);
    };
    const stopWatch = coordinator.watch((t) => {
      broadcast({ type: 'task', data: taskJson(t) });
      if (t.spec.workflow !== null) {
        const wf = coordinator.workflows.get(t.spec.workflow.run);
        if (wf) broadcast({ type: 'workflow', data: workflowJson(wf) });
      }
    });
    cleanups.unshift(stopWatch);

    const transportStats = (): TransportStats => {
      const c = mesh.metrics.snapshot();
      const traffic: TransportStats['traffic'] = [];
      for (const protocol of Object.keys(c.messagesIn) as (keyof typeof c.messagesIn)[]) {
        traffic.push({
          protocol,
          direction: 'in',
          messages: c.messagesIn[protocol],
          bytes: c.bytesIn[protocol],
        });
        traffic.push({
          protocol,
          direction: 'out',
          messages: c.messagesOut[protocol],
          bytes: c.bytesOut[protocol],
        });
      }
      return {
        traffic,
        rejected: Object.entries(c.rejected).map(([reason, count]) => ({ reason, count })),
        peers: c.peers,
        syncRounds: c.syncRounds.completed,
      };
    };
    const tasksByState = (): Record<string, number> => {
      const counts: Record<string, number> = {
        pending: 0,
        claimed: 0,
        running: 0,
        succeeded: 0,
        failed: 0,
        cancelled: 0,
      };
      for (const t of coordinator.list()) counts[t.status] = (counts[t.status] ?? 0) + 1;
      return counts;
    };
    const m = createMetrics({
      tasksByState,
      transport: transportStats,
      storeEvents: () => storeEvents.count,
    });
    coordinator.events.on('start', (e) => {
      if (localAgents.has(e.agent))
        m.attemptStarted(e.epoch === 1 ? (e.at - e.submittedAt) / 1000 : undefined);
    });
    coordinator.events.on('attempt', (e) => {
      if (localAgents.has(e.agent)) m.attemptEnded(e.outcome);
    });
    coordinator.events.on('failover', () => m.failover());
    mesh.metrics.on((e) => {
      if (e.type === 'peers') broadcast({ type: 'peers', data: { connected: e.connected } });
      if (e.type === 'rejected')
        logger.warn({ peer: e.peer, reason: e.reason, detail: e.detail }, 'peer message rejected');
    });

    const templates = new Map<string, WorkflowTemplate>(
      Object.entries(config.workflows) as [string, WorkflowTemplate][],
    );
    const startedAt = Date.now();
    let draining = false;
    let url = '';

    const api: NodeApi = {
      ready: () => !draining,
      status: () =>
        toJson({
          node: config.name,
          peerId: replica,
          multiaddrs: mesh.multiaddrs.map(String),
          url,
          uptimeMs: Date.now() - startedAt,
          ready: !draining,
          draining,
          peers: mesh.peers().length,
          agents: config.agents.map((a) => a.id),
          tasks: tasksByState(),
          settleMs: coordinator.settleMs(),
          pools: Object.fromEntries(
            Object.keys(config.resources).map((p) => [
              p,
              { free: pools.value(p), localRights: pools.rights(p) },
            ]),
          ),
          store: { path: store.path, events: store.eventCount(doc.name) },
        }),
      peers: () =>
        toJson(
          mesh.peers().map((peerId) => ({
            peerId,
            addrs: mesh.libp2p
              .getConnections()
              .filter((c) => c.remotePeer.toString() === peerId)
              .map((c) => c.remoteAddr.toString()),
          })),
        ),
      agents: () =>
        toJson(
          coordinator.agents().map((a: AgentView) => ({
            id: a.id,
            node: a.node,
            local: a.node === replica,
            capabilities: a.capabilities,
            capacity: a.capacity,
            load: a.load,
            live: a.alive && !a.retired,
            retired: a.retired,
            metadata: a.metadata,
            stats: a.stats,
          })),
        ),
      listTasks: (q: ListTasksQuery) =>
        coordinator
          .list(q.state !== undefined ? { status: q.state } : {})
          .sort((a, b) => b.spec.submittedAt - a.spec.submittedAt || (a.id < b.id ? -1 : 1))
          .slice(0, q.limit)
          .map(taskJson),
      getTask: (id) => {
        const t = coordinator.get(id);
        return t === null
          ? undefined
          : toJson({ ...(taskJson(t) as object), history: coordinator.attempts(id) });
      },
      taskHistory: (id) => toJson(store.attempts(id)),
      submitTask: (body: SubmitTaskBody) => {
        const kind = executorOf(body.input);
        const id = coordinatorCall(() =>
          coordinator.submit({
            ...(body.id !== undefined ? { id: body.id } : {}),
            type: body.type ?? executorCapability(kind),
            needs: unique([...body.needs, executorCapability(kind)]),
            input: body.input as Value,
            priority: body.priority,
            dependsOn: body.dependsOn,
            resources: body.resources,
            ...(body.retry !== undefined
              ? {
                  retry: {
                    maxAttempts: body.retry.maxAttempts,
                    backoff: { initialMs: body.retry.backoffMs },
                  },
                }
              : {}),
            timeouts: { scheduleToStartMs: body.scheduleToStartMs ?? null, runMs: body.runTimeoutMs ?? null },
            ...(body.idempotencyKey !== undefined ? { idempotencyKey: body.idempotencyKey } : {}),
          }),
        );
        return taskJson(coordinator.get(id)!);
      },
      cancelTask: (id) => {
        if (coordinator.get(id) === null) return undefined;
        coordinatorCall(() => coordinator.cancel(id, 'cancelled through the HTTP API'));
        return taskJson(coordinator.get(id)!);
      },
      listWorkflows: () => coordinator.workflows.list().map(workflowJson),
      workflowTemplates: () => toJson([...templates.values()]),
      getWorkflow: (id) => {
        const w = coordinator.workflows.get(id);
        return w === null ? undefined : workflowJson(w);
      },
      startWorkflow: (body: StartWorkflowBody) => {
        let template: WorkflowTemplate;
        if (typeof body.template === 'string') {
          const named = templates.get(body.template);
          if (named === undefined)
            throw new ApiError(
              400,
              'invalid_request',
              `template: no template named ${body.template}`,
              'template',
            );
          template = named;
        } else {
          template = body.template as unknown as WorkflowTemplate;
        }
        const id = coordinatorCall(() =>
          coordinator.workflows.start(
            template,
            body.params as { [k: string]: Value },
            body.id !== undefined ? { id: body.id } : {},
          ),
        );
        return workflowJson(coordinator.workflows.get(id)!);
      },
      subscribe: (listener) => {
        subscribers.add(listener);
        return () => subscribers.delete(listener);
      },
      metrics: () => m.render(),
    };

    const server: ApiServer = await startApiServer(api, {
      host: config.http.host,
      port: config.http.port,
      apiKey,
      maxBodyBytes: config.http.maxBodyBytes,
      onRequest: (method, route, status, ms) => {
        m.httpRequest(method, route, status);
        logger.debug({ method, route, status, ms: Math.round(ms) }, 'http request');
      },
    });
    cleanups.unshift(() => server.close());
    url = server.url;

    const info: DaemonInfo = {
      node: config.name,
      pid: process.pid,
      url,
      peerId: replica,
      multiaddrs: mesh.multiaddrs.map(String),
    };
    const infoFile = join(config.dataDir, 'daemon.json');
    writeFileSync(infoFile, JSON.stringify(info, null, 2));
    logger.info({ ...info, agents: config.agents.map((a) => a.id) }, 'node started');

    let resolveStopped!: () => void;
    const stopped = new Promise<void>((r) => (resolveStopped = r));
    let stopping: Promise<void> | undefined;

    const stop = (reason = 'stop requested'): Promise<void> => {
      stopping ??= (async () => {
        draining = true;
        logger.info({ reason, drainTimeoutMs: config.drainTimeoutMs }, 'draining');
        await coordinator.stop({ drainMs: config.drainTimeoutMs });
        for (const t of coordinator.list()) recordHistory(coordinator.attempts(t.id));
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
        stopWatch();
        stopHistory();
        if (historyTimer !== undefined) clearImmediate(historyTimer);
        await server.close();
        await mesh.stop();
        persistence.detach();
        store.close();
        rmSync(infoFile, { force: true });
        logger.info('stopped');
        logger.flush();
        resolveStopped();
      })();
      return stopping;
    };

    return { config, peerId: replica, url, multiaddrs: info.multiaddrs, apiKey, logger, stop, stopped };
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

/** `meshwork start`: runs until SIGTERM/SIGINT, then stops gracefully; a second signal exits at once. */
export async function runDaemon(
  config: ResolvedConfig,
  options: { stopOnStdinClose?: boolean } = {},
): Promise<void> {
  const daemon = await startDaemon(config);
  if (options.stopOnStdinClose === true) {
    process.stdin.on('error', () => undefined);
    process.stdin.once('close', () => void daemon.stop('supervisor closed stdin'));
    process.stdin.resume();
  }
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (++signals > 1) {
      daemon.logger.warn({ signal }, 'second signal: exiting without draining');
      daemon.logger.flush();
      process.exit(130);
    }
    void daemon.stop(`received ${signal}`);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  await daemon.stopped;
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  process.stdin.pause();
  process.stdin.destroy();
}
