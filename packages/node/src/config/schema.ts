import { defaultRetention } from '@meshwork/coordinator';
import { z } from 'zod';
import { agentSchema } from './agent-settings.ts';
import { logLevel, nodeName, nonNegative, peerId, positive, unique } from './field-schemas.ts';
import { limitSettings } from './limit-settings.ts';
import { mcpSettings } from './mcp-settings.ts';
import { telemetrySchema } from './telemetry-settings.ts';
import { webhookSchema } from './webhook-settings.ts';
import { workerSettings } from './worker-settings.ts';

/** Largest `http.maxBodyBytes`: half the transport's default sync frame (4 MiB). */
const MAX_BODY_BYTES = 2 * 1024 * 1024;

/** The daemon's config file: every key, its default and its bounds. */
export const configSchema = z.strictObject({
  name: nodeName,
  /** Default: ./.meshwork/<name> relative to the working directory. */
  dataDir: z.string().min(1).optional(),
  listen: z.array(z.string().startsWith('/', 'expected a multiaddr')).default(['/ip4/127.0.0.1/tcp/0']),
  bootstrap: z.array(z.string().startsWith('/', 'expected a multiaddr')).default([]),
  pskFile: z.string().min(1).optional(),
  allowList: z.array(peerId).optional(),
  /** Also find peers on the local network by mDNS; they are dialled as `topology` allows. */
  mdns: z.boolean().default(false),
  /**
   * The mesh's shape (transport README, _Topology_); a key left out takes the transport's default.
   * The transport checks the keys against each other (`maxPeers` at least `minPeers`, ...).
   */
  topology: z
    .strictObject({
      minPeers: z.number().int().positive().optional(),
      maxPeers: z.number().int().positive().optional(),
      announceMs: z.number().int().min(0).optional(),
      announceMaxMs: z.number().int().positive().optional(),
      graceMs: z.number().int().min(0).optional(),
    })
    .optional(),
  http: z
    .strictObject({
      host: z.string().min(1).default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(7070),
      // A body becomes one event in the shared state: past this, peers' sync frames could not carry it.
      maxBodyBytes: positive(1024 * 1024).refine((n) => n <= MAX_BODY_BYTES, {
        message: `expected at most ${MAX_BODY_BYTES} bytes`,
      }),
    })
    .default({ host: '127.0.0.1', port: 7070, maxBodyBytes: 1024 * 1024 }),
  /** Bearer key for mutating API calls. When absent one is generated and stored in <dataDir>/api-key. */
  apiKey: z.string().min(16, 'expected at least 16 characters').optional(),
  logLevel: logLevel.default('info'),
  /** Log file; default stdout. */
  logFile: z.string().min(1).optional(),
  drainTimeoutMs: z.number().int().min(0).default(30_000),
  /**
   * Before its agents claim, a starting node catches up with the peers it can reach: it waits up
   * to `connectMs` for its bootstrap dials and a first connection, then completes a sync round
   * with every connected peer (giving up after `timeoutMs`).
   */
  catchUp: z
    .strictObject({
      connectMs: z.number().int().min(0).default(3_000),
      timeoutMs: z.number().int().min(0).default(30_000),
    })
    .default({ connectMs: 3_000, timeoutMs: 30_000 }),
  /** Events in the SQLite log before it is compacted into a snapshot. */
  compactAfterEvents: z.number().int().min(10).default(5_000),
  /**
   * The coordination Document's in-memory event log: peers that lag by less than it holds catch
   * up from it; beyond it they need a full snapshot, which stalls both nodes while it is built.
   */
  eventLog: z
    .strictObject({ maxEvents: positive(1_000_000), maxBytes: positive(128 * 1024 * 1024) })
    .default({ maxEvents: 1_000_000, maxBytes: 128 * 1024 * 1024 }),
  /**
   * When finished tasks leave the shared state: after `finishedMs`, or sooner when more than
   * `maxFinished` are held. This node's `task_history` and `task_results` keep what it saw of them.
   */
  retention: z
    .strictObject({
      finishedMs: nonNegative(defaultRetention.finishedMs),
      maxFinished: nonNegative(defaultRetention.maxFinished),
    })
    .default(() => ({ ...defaultRetention })),
  /**
   * How long this node's SQLite archive (`task_history`, `task_results`) keeps a finished task;
   * 0 keeps everything.
   */
  archive: z
    .strictObject({ keepMs: nonNegative(7 * 24 * 3_600_000) })
    .default({ keepMs: 7 * 24 * 3_600_000 }),
  /** Backpressure: what a node accepts before it answers 429 (or 400 for a request that can never fit). */
  limits: limitSettings,
  /** Pull workers (POST /v1/workers): how long a silent one keeps its tasks, and its bounds. */
  workers: workerSettings,
  /** The MCP server at `/mcp`: how many sessions it keeps, and for how long an unused one. */
  mcp: mcpSettings,
  /** Task events POSTed, signed, to these URLs from a durable outbox. */
  webhooks: z
    .array(webhookSchema)
    .default([])
    .superRefine(unique('name', (name) => `another webhook is named ${name}`)),
  /** OpenTelemetry traces, exported when set; off by default. */
  telemetry: telemetrySchema.optional(),
  /** SQLite `synchronous`: `full` survives power loss, `normal` survives process crashes. */
  sync: z.enum(['full', 'normal']).default('full'),
  agents: z
    .array(agentSchema)
    .default([])
    .superRefine(unique('id', (id) => `another agent has the id ${id}`)),
  /** Resource pool units this node contributes to the mesh, e.g. `{ "gpu": 2 }`; tasks acquire them. */
  resources: z
    .record(
      z.string().regex(/^[\w.:/@-]{1,128}$/, 'expected a pool name'),
      z.number().int().min(0, 'expected units >= 0'),
    )
    .default({}),
  /** Workflow templates by name, startable with POST /v1/workflows { template: "<name>" }. */
  workflows: z
    .record(z.string().min(1), z.looseObject({ name: z.string().min(1), steps: z.array(z.unknown()).min(1) }))
    .default({}),
});

export type NodeConfig = z.output<typeof configSchema>;
export type AgentConfig = NodeConfig['agents'][number];
export type WebhookConfig = NodeConfig['webhooks'][number];
export type TelemetryConfig = NonNullable<NodeConfig['telemetry']>;
