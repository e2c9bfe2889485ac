import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import {
  CoordinatorError,
  defaultRetention,
  parseTemplate,
  type WorkflowTemplate,
} from '@meshwork/coordinator';
import { z } from 'zod';
import { ConfigError } from './config-error.ts';
import { parseSwarmKey } from './swarm-key.ts';

const nodeName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'expected 1-64 letters, digits, ".", "_" or "-"');

const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name');

/** A refinement refusing an array whose elements repeat a `key`, naming the repeat's field. */
const unique =
  <K extends string>(key: K, message: (value: string) => string) =>
  (items: readonly Record<K, string>[], ctx: z.RefinementCtx): void => {
    const seen = new Set<string>();
    items.forEach((item, i) => {
      if (seen.has(item[key])) ctx.addIssue({ code: 'custom', path: [i, key], message: message(item[key]) });
      seen.add(item[key]);
    });
  };

/** A positive whole number (milliseconds, bytes) with a default. */
const positive = (fallback: number) => z.number().int().positive().default(fallback);

/** A whole number >= 0 with a default. */
const nonNegative = (fallback: number) =>
  z.number().int('expected a whole number').min(0, 'expected a number >= 0').default(fallback);

/** Largest `http.maxBodyBytes`: half the transport's default sync frame (4 MiB). */
const MAX_BODY_BYTES = 2 * 1024 * 1024;

export const defaultLimits = Object.freeze({
  maxOpenTasks: 10_000,
  maxWorkflowTasks: 1_000,
  maxEventStreams: 100,
  eventStreamBufferBytes: 256 * 1024,
  maxMemoryDocuments: 100,
  maxMemoryMembers: 1_000,
});

/**
 * Most shared-memory documents a node may open: each is synced on its own, and a sync round
 * carries one digest per open Document (the transport accepts at most 4096 in a round).
 */
const MAX_MEMORY_DOCUMENTS = 4_000;

export const defaultWorkerSettings = Object.freeze({
  leaseMs: 2_000,
  maxWaitMs: 20_000,
  maxWorkers: 100,
  maxResultBytes: 256 * 1024,
});

export const defaultMcpSettings = Object.freeze({
  maxSessions: 100,
  sessionIdleMs: 600_000,
});

const shellSettings = z.strictObject({
  /** Working directory for commands that name none (relative to the config file). */
  cwd: z.string().optional(),
  /** Environment variables passed through from the daemon's environment; nothing else is inherited. */
  envAllow: z.array(envName).default(['PATH', 'HOME', 'LANG', 'TZ']),
  /** When set, argv[0] must be one of these. */
  allowCommands: z.array(z.string().min(1)).optional(),
  timeoutMs: positive(60_000),
  /** Bytes of stdout/stderr kept (tail) for the result. */
  maxOutputBytes: positive(64 * 1024),
});

const httpSettings = z.strictObject({
  timeoutMs: positive(30_000),
  retries: z.number().int().min(0).max(20).default(2),
  backoffMs: z.number().int().min(0).default(200),
  /** When set, only these hosts (hostname or hostname:port) may be called. */
  allowHosts: z.array(z.string().min(1)).optional(),
  maxResponseBytes: positive(1024 * 1024),
});

const moduleSettings = z.strictObject({
  /** Handler name -> module path (relative to the config file); tasks name a handler, never a path. */
  handlers: z.record(z.string().min(1), z.string().min(1)),
});

/** The task events a webhook may subscribe to. */
export const WEBHOOK_EVENTS = [
  'task.submitted',
  'task.started',
  'task.succeeded',
  'task.failed',
  'task.cancelled',
] as const;

const webhookSchema = z.strictObject({
  /** Names the webhook in the outbox, metrics and logs. */
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'expected 1-64 letters, digits, ".", "_" or "-"'),
  url: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }),
  /** Key of the HMAC-SHA256 signature the receiver checks. */
  secret: z.string().min(16, 'expected at least 16 characters'),
  events: z
    .array(z.enum(WEBHOOK_EVENTS))
    .min(1)
    .default([...WEBHOOK_EVENTS]),
  timeoutMs: positive(10_000),
  /** Deliveries in flight at once. */
  concurrency: z.number().int().min(1).max(64).default(4),
  /** Undelivered events kept; past it new events for this webhook are dropped. */
  maxPending: positive(10_000),
  retry: z
    .strictObject({
      /** Deliveries of one event before it is given up. */
      maxAttempts: z.number().int().min(1).max(1000).default(20),
      /** Wait after the first failure, doubled after each further one up to `maxMs`. */
      initialMs: positive(1_000),
      maxMs: positive(3_600_000),
    })
    .default({ maxAttempts: 20, initialMs: 1_000, maxMs: 3_600_000 }),
});

/** Traces exported over OTLP/HTTP (JSON); see the README's "Traces". */
const telemetrySchema = z
  .strictObject({
    otlp: z
      .strictObject({
        /** The collector's traces endpoint, e.g. http://localhost:4318/v1/traces. */
        url: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }),
        /** Sent with every export (an API key of a hosted backend). */
        headers: z
          .record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'expected a header name'), z.string())
          .default({}),
      })
      .optional(),
    /** The `service.name` of every span. */
    serviceName: z.string().min(1).max(256).default('meshwork'),
    /** Share of traces kept, decided where a trace starts (a task's submit); 0 to 1. */
    sampleRatio: z
      .number()
      .min(0, 'expected a number from 0 to 1')
      .max(1, 'expected a number from 0 to 1')
      .default(1),
  })
  .refine((t) => t.otlp !== undefined, {
    message: 'expected otlp: { url } (or the environment variable OTEL_EXPORTER_OTLP_ENDPOINT)',
    path: ['otlp'],
  });

const agentSchema = z.strictObject({
  id: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'expected an agent id (letters, digits, . _ : -)'),
  // The coordinator's rule for names: a config it would refuse must fail here, naming the field.
  capabilities: z
    .array(z.string().regex(/^[\w.:/@-]{1,128}$/, 'expected 1-128 letters, digits, _ . : / @ -'))
    .default([]),
  capacity: z.number().int().min(1).max(1024).default(1),
  executors: z
    .strictObject({
      shell: shellSettings.optional(),
      http: httpSettings.optional(),
      module: moduleSettings.optional(),
    })
    .refine((e) => e.shell !== undefined || e.http !== undefined || e.module !== undefined, {
      message: 'expected at least one of shell, http, module',
    }),
});

export const configSchema = z.strictObject({
  name: nodeName,
  /** Default: ./.meshwork/<name> relative to the working directory. */
  dataDir: z.string().min(1).optional(),
  listen: z.array(z.string().startsWith('/', 'expected a multiaddr')).default(['/ip4/127.0.0.1/tcp/0']),
  bootstrap: z.array(z.string().startsWith('/', 'expected a multiaddr')).default([]),
  pskFile: z.string().min(1).optional(),
  allowList: z.array(z.string().min(1)).optional(),
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
  limits: z
    .strictObject({
      /** Open (not yet finished) tasks this replica holds before submissions get 429. */
      maxOpenTasks: positive(defaultLimits.maxOpenTasks),
      /** Most tasks one step wave of a workflow (a forEach) may create at start. */
      maxWorkflowTasks: positive(defaultLimits.maxWorkflowTasks),
      /** Concurrent `GET /v1/events` clients. */
      maxEventStreams: positive(defaultLimits.maxEventStreams),
      /** Unsent bytes an event-stream client may fall behind by before it is dropped. */
      eventStreamBufferBytes: positive(defaultLimits.eventStreamBufferBytes),
      /** Shared-memory documents this node opens and lets its API create. */
      maxMemoryDocuments: positive(defaultLimits.maxMemoryDocuments).refine(
        (n) => n <= MAX_MEMORY_DOCUMENTS,
        { message: `expected at most ${MAX_MEMORY_DOCUMENTS}` },
      ),
      /** Members a shared-memory document may have before this node's API refuses a new one. */
      maxMemoryMembers: positive(defaultLimits.maxMemoryMembers),
    })
    .default(() => ({ ...defaultLimits })),
  /** Pull workers (POST /v1/workers): how long a silent one keeps its tasks, and its bounds. */
  workers: z
    .strictObject({
      /** A worker that makes no call for this long loses its registration and its tasks. */
      leaseMs: z
        .number()
        .int('expected a whole number')
        .min(500, 'expected at least 500 ms')
        .max(60_000, 'expected at most 60000 ms')
        .default(defaultWorkerSettings.leaseMs),
      /** Longest a poll waits for a task. */
      maxWaitMs: z
        .number()
        .int('expected a whole number')
        .min(0, 'expected a number >= 0')
        .max(60_000, 'expected at most 60000 ms')
        .default(defaultWorkerSettings.maxWaitMs),
      maxWorkers: positive(defaultWorkerSettings.maxWorkers),
      /** Largest result or progress value a worker may report, as JSON. */
      maxResultBytes: positive(defaultWorkerSettings.maxResultBytes),
    })
    .default(() => ({ ...defaultWorkerSettings })),
  /** The MCP server at `/mcp`: how many sessions it keeps, and for how long an unused one. */
  mcp: z
    .strictObject({
      maxSessions: positive(defaultMcpSettings.maxSessions),
      /** A session with no request and no open stream for this long is closed. */
      sessionIdleMs: z
        .number()
        .int('expected a whole number')
        .min(1_000, 'expected at least 1000 ms')
        .default(defaultMcpSettings.sessionIdleMs),
    })
    .default(() => ({ ...defaultMcpSettings })),
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
export type ShellSettings = z.output<typeof shellSettings>;
export type HttpSettings = z.output<typeof httpSettings>;
export type ModuleSettings = z.output<typeof moduleSettings>;
export type WorkerSettings = NodeConfig['workers'];
export type McpSettings = NodeConfig['mcp'];
export type WebhookConfig = NodeConfig['webhooks'][number];
export type TelemetryConfig = NonNullable<NodeConfig['telemetry']>;
export type WebhookEventType = (typeof WEBHOOK_EVENTS)[number];

/** Flags from the command line; each overrides the same key of the file. */
export interface ConfigFlags {
  name?: string;
  dataDir?: string;
  listen?: string[];
  bootstrap?: string[];
  pskFile?: string;
  allow?: string[];
  httpHost?: string;
  httpPort?: string;
  apiKey?: string;
  /** A file holding the API key, so it need not appear in the process list. */
  apiKeyFile?: string;
  logLevel?: string;
  logFile?: string;
  drainTimeout?: string;
}

/**
 * Environment variables `meshwork start` reads. Each applies where its flag is not given and
 * overrides the config file; empty ones count as unset.
 */
export interface ConfigEnv {
  /** The config file, for `--config`. */
  MESHWORK_CONFIG?: string;
  /** For `--log-level` (`logLevel`). */
  MESHWORK_LOG_LEVEL?: string;
  /** The API key itself (`apiKey`); also what the client commands send. */
  MESHWORK_API_KEY?: string;
  /** The swarm key itself, as a swarm key file's contents or its 64 hex digits; replaces `pskFile`. */
  MESHWORK_SWARM_KEY?: string;
  /**
   * An OTLP/HTTP collector's base URL: traces go to `<it>/v1/traces` unless the config names
   * `telemetry.otlp` itself.
   */
  OTEL_EXPORTER_OTLP_ENDPOINT?: string;
}

/** A validated config with paths made absolute. */
export interface ResolvedConfig extends NodeConfig {
  dataDir: string;
  /** Directory relative paths in the file are resolved against. */
  baseDir: string;
  /** The swarm key when it came from `MESHWORK_SWARM_KEY` rather than from `pskFile`. */
  swarmKey?: Uint8Array;
}

function formatIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const key = issue.path.length > 0 ? issue.path.join('.') : '(root)';
    if (issue.code === 'unrecognized_keys') {
      const prefix = issue.path.length > 0 ? `${key}.` : '';
      return `${issue.keys.map((k) => prefix + k).join(', ')}: unknown key`;
    }
    return `${key}: ${issue.message}`;
  });
}

function integerFlag(value: string | undefined): number | string | undefined {
  if (value === undefined) return undefined;
  // Left as a string when not an integer so the schema reports it against the key.
  return /^-?\d+$/.test(value) ? Number(value) : value;
}

/** Validates a parsed config object (file contents merged with flags). */
export function parseConfig(input: unknown, baseDir: string, cwd = process.cwd()): ResolvedConfig {
  const result = configSchema.safeParse(input);
  if (!result.success) throw new ConfigError(formatIssues(result.error));
  const config = result.data;
  const templateIssues: string[] = [];
  for (const [name, template] of Object.entries(config.workflows)) {
    try {
      // The schema checks the outer shape only; parseTemplate checks every field at run time.
      parseTemplate(template as unknown as WorkflowTemplate);
    } catch (err) {
      if (!(err instanceof CoordinatorError)) throw err;
      templateIssues.push(`workflows.${name}: ${err.message}`);
    }
  }
  if (templateIssues.length > 0) throw new ConfigError(templateIssues);
  const rel = (p: string): string => (isAbsolute(p) ? p : resolve(baseDir, p));
  return {
    ...config,
    baseDir,
    dataDir: config.dataDir !== undefined ? rel(config.dataDir) : join(cwd, '.meshwork', config.name),
    pskFile: config.pskFile !== undefined ? rel(config.pskFile) : undefined,
    logFile: config.logFile !== undefined ? rel(config.logFile) : undefined,
    agents: config.agents.map((agent) => ({
      ...agent,
      executors: {
        ...agent.executors,
        shell: agent.executors.shell && {
          ...agent.executors.shell,
          cwd: agent.executors.shell.cwd !== undefined ? rel(agent.executors.shell.cwd) : undefined,
        },
        module: agent.executors.module && {
          handlers: Object.fromEntries(
            Object.entries(agent.executors.module.handlers).map(([k, p]) => [k, rel(p)]),
          ),
        },
      },
    })),
  };
}

function readApiKeyFile(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new ConfigError([`apiKey: cannot read the key file ${file} (${(err as Error).message})`]);
  }
}

/** The file's `telemetry` with the environment's endpoint, unless the file names one. */
function withEnvEndpoint(telemetry: unknown, endpoint: string): unknown {
  if (typeof telemetry === 'object' && telemetry !== null && 'otlp' in telemetry) return telemetry;
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new ConfigError(['OTEL_EXPORTER_OTLP_ENDPOINT: expected an http(s) URL']);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ConfigError(['OTEL_EXPORTER_OTLP_ENDPOINT: expected an http(s) URL']);
  // The OTLP exporter spec: the base endpoint gets the signal's path appended.
  const otlp = { url: `${endpoint.replace(/\/+$/, '')}/v1/traces` };
  return typeof telemetry === 'object' && telemetry !== null ? { ...telemetry, otlp } : { otlp };
}

/**
 * Reads the optional JSON config file, applies `env` and then flags over it and validates the
 * result. The CLI passes `process.env`; a library caller passes what it wants read, if anything.
 */
export function loadConfig(
  configFile: string | undefined,
  flags: ConfigFlags = {},
  cwd = process.cwd(),
  env: ConfigEnv = {},
): ResolvedConfig {
  const fromEnv = (name: keyof ConfigEnv): string | undefined => env[name] || undefined;
  const file = configFile ?? fromEnv('MESHWORK_CONFIG');
  let raw: Record<string, unknown> = {};
  let baseDir = cwd;
  if (file !== undefined) {
    const path = resolve(cwd, file);
    baseDir = dirname(path);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new ConfigError([`config file ${path}: cannot be read (${(err as Error).message})`]);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new ConfigError([`config file ${path}: expected JSON (${(err as Error).message})`]);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new ConfigError([`config file ${path}: expected a JSON object`]);
    }
    raw = parsed as Record<string, unknown>;
  }
  const merged: Record<string, unknown> = { ...raw };
  const set = (key: string, value: unknown): void => {
    if (value !== undefined) merged[key] = value;
  };
  set('name', flags.name);
  // Paths given as flags are relative to the working directory, not to the file.
  set('dataDir', flags.dataDir !== undefined ? resolve(cwd, flags.dataDir) : undefined);
  set('listen', flags.listen);
  set('bootstrap', flags.bootstrap);
  set('pskFile', flags.pskFile !== undefined ? resolve(cwd, flags.pskFile) : undefined);
  set('allowList', flags.allow);
  set(
    'apiKey',
    flags.apiKey ??
      (flags.apiKeyFile !== undefined ? readApiKeyFile(resolve(cwd, flags.apiKeyFile)) : undefined) ??
      fromEnv('MESHWORK_API_KEY'),
  );
  const envLevel = fromEnv('MESHWORK_LOG_LEVEL');
  if (flags.logLevel === undefined && envLevel !== undefined && !logLevel.safeParse(envLevel).success) {
    throw new ConfigError([`MESHWORK_LOG_LEVEL: expected one of ${logLevel.options.join(', ')}`]);
  }
  set('logLevel', flags.logLevel ?? envLevel);
  set('logFile', flags.logFile !== undefined ? resolve(cwd, flags.logFile) : undefined);
  set('drainTimeoutMs', integerFlag(flags.drainTimeout));
  if (flags.httpHost !== undefined || flags.httpPort !== undefined) {
    const http = typeof raw.http === 'object' && raw.http !== null ? { ...raw.http } : {};
    merged.http = {
      ...http,
      ...(flags.httpHost !== undefined ? { host: flags.httpHost } : {}),
      ...(flags.httpPort !== undefined ? { port: integerFlag(flags.httpPort) } : {}),
    };
  }
  const otlpEndpoint = fromEnv('OTEL_EXPORTER_OTLP_ENDPOINT');
  if (otlpEndpoint !== undefined) merged.telemetry = withEnvEndpoint(raw.telemetry, otlpEndpoint);
  const envKey = flags.pskFile === undefined ? fromEnv('MESHWORK_SWARM_KEY') : undefined;
  if (envKey === undefined) return parseConfig(merged, baseDir, cwd);
  const swarmKey = parseSwarmKey(envKey);
  if (swarmKey === undefined) {
    throw new ConfigError([
      'MESHWORK_SWARM_KEY: expected the contents of a swarm key file (/key/swarm/psk/1.0.0/, /base16/, 64 hex digits) or the 64 hex digits alone',
    ]);
  }
  delete merged.pskFile;
  return { ...parseConfig(merged, baseDir, cwd), swarmKey };
}
