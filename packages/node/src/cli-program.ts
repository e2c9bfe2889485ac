import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ClientError, createClient, resolveTarget, type ClientTarget } from './client.ts';
import { AddressInUseError } from './address-in-use.ts';
import { AlreadyInitialisedError } from './already-initialised.ts';
import { ConfigError } from './config-error.ts';
import type { ConfigFlags } from './config.ts';
import { formatTable } from './format.ts';
import { VERSION } from './version.ts';
import { parseDuration, waitUntil, WaitDeadlineError } from './wait.ts';

const program = new Command('meshwork')
  .description('Run and talk to a Meshwork mesh node: shared CRDT state, task assignment, executors.')
  .version(VERSION, '-V, --version', 'print the version of meshwork')
  .showHelpAfterError()
  .exitOverride((err) => {
    // --help and --version exit 0; usage errors exit 2 like other CLIs.
    process.exit(err.exitCode === 0 ? 0 : 2);
  });

function integer(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a non-negative integer');
  return Number(value);
}

function signedInteger(value: string): number {
  if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError('expected an integer');
  return Number(value);
}

function duration(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined) throw new InvalidArgumentError('expected a duration such as 30s, 500ms, 5m or 1h');
  return ms;
}

function json(value: string): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch {
    throw new InvalidArgumentError('expected JSON');
  }
}

interface StartOptions extends ConfigFlags {
  config?: string;
}

interface InitFlags {
  name?: string;
  dataDir?: string;
  listen: string[];
  bootstrap: string[];
  httpPort: number;
  swarmKey?: true | string;
  json?: boolean;
}

program
  .command('init')
  .description(
    'Create a data directory for a new node: its key, API key, optional swarm key and a config file; print its peer id and the address others bootstrap to',
  )
  .option('--name <name>', "node name (default: this machine's host name)")
  .option('--data-dir <dir>', 'data directory to create (default ./.meshwork/<name>)')
  // Every interface, on the port IPFS made familiar: a node others are to bootstrap to.
  .option('--listen <multiaddr...>', 'libp2p listen addresses', ['/ip4/0.0.0.0/tcp/4001'])
  .option('--bootstrap <multiaddr...>', 'peers to join (their /p2p/ multiaddrs)', [])
  .option('--http-port <port>', 'HTTP API port', integer, 7070)
  .option(
    '--swarm-key [file]',
    'private network: copy this swarm key file (every node needs the same key), or write a new one',
  )
  .option('--json', 'print the result as JSON')
  .action(async (flags: InitFlags) => {
    // Loaded here: the mesh and SQLite are for this command only.
    const { defaultNodeName, initNode } = await import('./init.ts');
    const name = flags.name ?? defaultNodeName();
    const result = await initNode({
      name,
      dataDir: resolve(flags.dataDir ?? join('.meshwork', name)),
      listen: flags.listen,
      bootstrap: flags.bootstrap,
      httpPort: flags.httpPort,
      ...(flags.swarmKey !== undefined
        ? { swarmKey: flags.swarmKey === true ? true : resolve(flags.swarmKey) }
        : {}),
    });
    if (flags.json === true) {
      console.log(JSON.stringify(result, null, 2));
      return;
    }
    const lines = [
      `initialised node ${result.name} in ${result.dataDir}`,
      `  peer id    ${result.peerId}`,
      `  config     ${result.configFile}`,
      `  api key    ${result.apiKeyFile}`,
      result.swarmKeyFile !== undefined
        ? `  swarm key  ${result.swarmKeyFile} (give every node a copy: meshwork init --swarm-key <file>)`
        : '  no swarm key: any peer that reaches the listen address can join (see --swarm-key)',
      result.bootstrapAddrs.length > 0
        ? `other nodes bootstrap to it with:\n${result.bootstrapAddrs.map((a) => `  ${a}`).join('\n')}`
        : 'it listens on a port chosen at start: other nodes find its address in <data dir>/daemon.json then',
      `start it: meshwork start --config ${result.configFile}`,
    ];
    console.log(lines.join('\n'));
  });

program
  .command('start')
  .description('Start a mesh node daemon in the foreground (SIGTERM/SIGINT drain and stop it)')
  .option('-c, --config <file>', 'JSON config file; flags override its keys (env MESHWORK_CONFIG)')
  .option('--name <name>', 'node name (config: name)')
  .option('--data-dir <dir>', 'data directory (config: dataDir; default ./.meshwork/<name>)')
  .option('--listen <multiaddr...>', 'libp2p listen addresses (config: listen)')
  .option('--bootstrap <multiaddr...>', 'peers to connect to and keep connected (config: bootstrap)')
  .option(
    '--psk-file <file>',
    'private-network swarm key file (config: pskFile; or the key itself in env MESHWORK_SWARM_KEY)',
  )
  .option('--allow <peerId...>', 'only these peers may connect (config: allowList)')
  .option('--http-host <host>', 'HTTP API bind address (config: http.host; default 127.0.0.1)')
  .option('--http-port <port>', 'HTTP API port, 0 = any free port (config: http.port; default 7070)')
  .addOption(
    new Option(
      '--api-key <key>',
      'bearer key for mutating API calls (config: apiKey); visible in the process list, so prefer --api-key-file or env MESHWORK_API_KEY',
    ).conflicts('apiKeyFile'),
  )
  .option('--api-key-file <file>', 'file holding the bearer key')
  .option(
    '--log-level <level>',
    'fatal|error|warn|info|debug|trace|silent (config: logLevel; env MESHWORK_LOG_LEVEL)',
  )
  .option('--log-file <file>', 'write logs to this file instead of stdout (config: logFile)')
  .option('--drain-timeout <ms>', 'how long shutdown waits for running tasks (config: drainTimeoutMs)')
  // For supervisors (the demo): stop gracefully when the parent closes our stdin, e.g. by dying.
  .addOption(new Option('--stop-on-stdin-close').hideHelp())
  .action(async (options: StartOptions & { stopOnStdinClose?: boolean }) => {
    // Loaded here so client commands and --help do not pay for the coordinator and the mesh.
    const { loadConfig } = await import('./config.ts');
    const cwd = process.cwd();
    const config = loadConfig(options.config, options, cwd, process.env);
    const { runDaemon } = await import('./daemon.ts');
    const { tolerateClosedStreamWrites } = await import('./closed-stream-writes.ts');
    tolerateClosedStreamWrites((err) =>
      process.stderr.write(`meshwork: a stream write on a closed connection was dropped: ${err.message}\n`),
    );
    await runDaemon(config, {
      stopOnStdinClose: options.stopOnStdinClose === true,
      // SIGHUP and POST /v1/admin/reload read the same file, with the same flags and environment.
      reloadConfig: () => loadConfig(options.config, options, cwd, process.env),
    });
  });

program
  .command('demo')
  .description('Start a local 3-node mesh with example agents and run an example workflow on it')
  .option('--once', 'exit 0 once the workflow is done, printing a one-line summary last')
  .option('--dir <dir>', 'where the demo nodes keep their data (default: a fresh temporary directory)')
  .option(
    '--http-port <port>',
    'HTTP port of the first node; the others take the next ones (0 = any free)',
    integer,
    7070,
  )
  .option('--timeout <ms>', 'with --once: give up (exit 1) after this long', integer, 120_000)
  .action(async (options: { once?: boolean; dir?: string; httpPort: number; timeout: number }) => {
    const { runDemo } = await import('./demo.ts');
    process.exitCode = await runDemo({
      once: options.once === true,
      dir: options.dir,
      httpPort: options.httpPort,
      timeoutMs: options.timeout,
    });
  });

/** Which daemon, and the key. */
function targetOptions(cmd: Command): Command {
  return cmd
    .option(
      '--url <url>',
      'daemon HTTP URL (env MESHWORK_URL; default: from the data dir, else http://127.0.0.1:7070)',
    )
    .option('--node <name>', 'find the daemon through ./.meshwork/<name>/daemon.json')
    .option('--data-dir <dir>', 'find the daemon and its API key through this data directory')
    .addOption(
      new Option(
        '--api-key <key>',
        'bearer key (visible in the process list: prefer --api-key-file or env MESHWORK_API_KEY; default: <data dir>/api-key)',
      ).conflicts('apiKeyFile'),
    )
    .option('--api-key-file <file>', 'file holding the bearer key');
}

/** Options every client command shares: which daemon, the key, and how to print. */
function clientOptions(cmd: Command): Command {
  return targetOptions(cmd).option('--json', 'print raw JSON');
}

interface ClientFlags extends ClientTarget {
  json?: boolean;
}

function client(flags: ClientFlags) {
  return createClient(resolveTarget(flags));
}

function print(flags: ClientFlags, value: unknown, table: () => string): void {
  console.log(flags.json === true ? JSON.stringify(value, null, 2) : table());
}

/** A page's table, and how to ask for the next page when there is one. */
function morePages(table: string, nextCursor: string | null): string {
  return nextCursor === null ? table : `${table}\nmore: --cursor ${nextCursor}`;
}

interface TaskRow {
  id: string;
  type: string;
  status: string;
  epoch?: number;
  agent?: string | null;
  submittedAt?: number;
  reason?: string | null;
}

const task = program.command('task').description('Submit, list, show and cancel tasks on a running daemon');

interface SubmitFlags extends ClientFlags {
  body?: unknown;
  http?: string;
  method?: string;
  data?: unknown;
  handler?: string;
  input?: unknown;
  cwd?: string;
  timeout?: number;
  id?: string;
  type?: string;
  needs?: string[];
  priority?: number;
  dependsOn?: string[];
  maxAttempts?: number;
  idempotencyKey?: string;
  /** `true` waits as long as it takes; a number gives up after that many milliseconds. */
  wait?: true | number;
}

/** Exit status when `--wait` gives up: the task or run goes on, only the wait ended (as with timeout(1)). */
const EXIT_WAIT_DEADLINE = 124;

const deadlineOf = (wait: true | number): number | undefined => (wait === true ? undefined : wait);
const inSeconds = (ms: number | undefined): string => `${Number(((ms ?? 0) / 1000).toFixed(3))}s`;

clientOptions(
  task
    .command('submit')
    .description(
      'Submit a task. Shell: `meshwork task submit -- <program> [args...]`; HTTP: --http <url>; module: --handler <name>',
    )
    .argument(
      '[argv...]',
      'program and arguments for the shell executor (no shell: passed as an argument vector)',
    )
    .option('--body <json>', 'the whole request body of POST /v1/tasks', json)
    .option('--http <url>', 'use the http executor on this URL')
    .addOption(
      new Option('--method <method>', 'HTTP method').choices([
        'GET',
        'HEAD',
        'POST',
        'PUT',
        'PATCH',
        'DELETE',
      ]),
    )
    .option('--data <json>', 'HTTP request body (JSON)', json)
    .option('--handler <name>', 'use the module executor with this configured handler')
    .option('--input <json>', 'input for the module handler', json)
    .option('--cwd <dir>', 'shell working directory')
    .option('--timeout <ms>', 'executor timeout', integer)
    .option('--id <id>', 'task id (default: generated)')
    .option('--type <type>', 'task type (default: the executor, e.g. executor:shell)')
    .option('--needs <capability...>', 'capabilities the agent needs besides the executor')
    .option('--priority <n>', 'priority, -1000 to 1000 (higher first)', signedInteger)
    .option('--depends-on <id...>', 'tasks that must succeed first')
    .option('--max-attempts <n>', 'retry policy: attempts in all', integer)
    .option('--idempotency-key <key>', 'key passed to executors (default: the task id)')
    .option(
      '--wait [deadline]',
      `wait until the task ends; print it and exit 0 if it succeeded, 1 otherwise; with a deadline (30s, 5m, 1h) exit ${EXIT_WAIT_DEADLINE} if it has not ended by then`,
      duration,
    ),
).action(async (argv: string[], flags: SubmitFlags) => {
  let body: Record<string, unknown>;
  if (flags.body !== undefined) {
    body = flags.body as Record<string, unknown>;
  } else {
    let input: Record<string, unknown>;
    if (flags.http !== undefined) {
      input = {
        executor: 'http',
        url: flags.http,
        method: flags.method ?? (flags.data !== undefined ? 'POST' : 'GET'),
      };
      if (flags.data !== undefined) input.body = flags.data;
    } else if (flags.handler !== undefined) {
      input = { executor: 'module', handler: flags.handler, input: flags.input ?? null };
    } else if (argv.length > 0) {
      input = { executor: 'shell', argv, ...(flags.cwd !== undefined ? { cwd: flags.cwd } : {}) };
    } else {
      throw new InvalidArgumentError(
        'give a command after --, or --http <url>, --handler <name> or --body <json>',
      );
    }
    if (flags.timeout !== undefined) input.timeoutMs = flags.timeout;
    body = {
      input,
      ...(flags.id !== undefined ? { id: flags.id } : {}),
      ...(flags.type !== undefined ? { type: flags.type } : {}),
      ...(flags.needs !== undefined ? { needs: flags.needs } : {}),
      ...(flags.priority !== undefined ? { priority: flags.priority } : {}),
      ...(flags.dependsOn !== undefined ? { dependsOn: flags.dependsOn } : {}),
      ...(flags.maxAttempts !== undefined ? { retry: { maxAttempts: flags.maxAttempts } } : {}),
      ...(flags.idempotencyKey !== undefined ? { idempotencyKey: flags.idempotencyKey } : {}),
    };
  }
  type WaitedTask = TaskRow & { result?: unknown; error?: string | null; removed?: boolean };
  const c = client(flags);
  const created = await c.post<WaitedTask>('/v1/tasks', body);
  if (flags.wait === undefined) {
    print(flags, created, () => `submitted ${created.id} (${created.status})`);
    return;
  }
  const path = `/v1/tasks/${encodeURIComponent(created.id)}`;
  const deadlineMs = deadlineOf(flags.wait);
  const task = await waitUntil(
    () => c.get<WaitedTask>(path),
    // A removed task is finished: its status is null only when this node did not see it end.
    (t) => t.removed === true || ['succeeded', 'failed', 'cancelled'].includes(t.status),
    {
      first: created,
      deadlineMs,
      describe: (t) =>
        `task ${t.id} is still ${t.status} after ${inSeconds(deadlineMs)} (--wait); it goes on: meshwork task show ${t.id}, meshwork task cancel ${t.id}`,
    },
  );
  print(flags, task, () =>
    task.status === 'succeeded'
      ? `${task.id} succeeded on ${task.agent ?? '?'}: ${JSON.stringify(task.result)}`
      : `${task.id} ${task.status}${task.error ? `: ${task.error}` : ''}`,
  );
  if (task.status !== 'succeeded') process.exitCode = 1;
});

clientOptions(
  task
    .command('list')
    .description('List tasks, newest first')
    .addOption(
      new Option('--status <status>', 'only tasks with this status').choices([
        'pending',
        'claimed',
        'running',
        'succeeded',
        'failed',
        'cancelled',
      ]),
    )
    .option('--limit <n>', 'at most this many', integer, 100)
    .option('--cursor <cursor>', 'the page after the one that printed this cursor'),
).action(async (flags: ClientFlags & { status?: string; limit: number; cursor?: string }) => {
  const query = new URLSearchParams({
    limit: String(flags.limit),
    ...(flags.status ? { status: flags.status } : {}),
    ...(flags.cursor ? { cursor: flags.cursor } : {}),
  });
  const page = await client(flags).get<{ items: TaskRow[]; nextCursor: string | null }>(
    `/v1/tasks?${query.toString()}`,
  );
  print(flags, page, () => {
    const table = formatTable(
      ['ID', 'TYPE', 'STATUS', 'EPOCH', 'AGENT', 'SUBMITTED'],
      page.items.map((t) => [
        t.id,
        t.type,
        t.status,
        String(t.epoch ?? ''),
        t.agent ?? '',
        t.submittedAt ? new Date(t.submittedAt).toISOString() : '',
      ]),
    );
    return morePages(table, page.nextCursor);
  });
});

clientOptions(
  task.command('show').description('Show one task with its attempts').argument('<id>', 'task id'),
).action(async (id: string, flags: ClientFlags) => {
  const c = client(flags);
  const shown = await c.get<Record<string, unknown>>(`/v1/tasks/${encodeURIComponent(id)}`);
  print(flags, shown, () =>
    shown.removed === true
      ? `${id} finished${typeof shown.status === 'string' ? ` (${shown.status})` : ''} and was removed from the mesh after the retention period; this node's archive:\n${JSON.stringify(shown, null, 2)}`
      : JSON.stringify(shown, null, 2),
  );
});

clientOptions(
  task
    .command('cancel')
    .description('Cancel a task (reaches a running executor as an abort)')
    .argument('<id>', 'task id'),
).action(async (id: string, flags: ClientFlags) => {
  const cancelled = await client(flags).post<TaskRow>(`/v1/tasks/${encodeURIComponent(id)}/cancel`, {});
  print(flags, cancelled, () => `cancelled ${cancelled.id} (${cancelled.status})`);
});

interface WorkflowRow {
  id: string;
  name: string;
  status: 'running' | 'succeeded' | 'failed';
  steps: Record<string, string>;
  tasks: string[];
  reason: string | null;
}

const workflow = program
  .command('workflow')
  .description('Start, list and show workflow runs on a running daemon');

function workflowLine(run: WorkflowRow): string {
  return `${run.id} (${run.name}) ${run.status}${run.reason !== null ? `: ${run.reason}` : ''}`;
}

clientOptions(
  workflow
    .command('start')
    .description(
      'Start a run of a template: one configured on the daemon (see its config: workflows), or one in a JSON file',
    )
    .argument('[template]', 'name of a template configured on the daemon')
    .option('--file <file>', 'a template definition in a JSON file instead of a configured name')
    .option('--params <json>', 'parameters of the run (a JSON object)', json)
    .option('--id <id>', 'run id (default: generated)')
    .option(
      '--wait [deadline]',
      `wait until the run ends; exit 0 if it succeeded, 1 otherwise; with a deadline (30s, 5m, 1h) exit ${EXIT_WAIT_DEADLINE} if it has not ended by then`,
      duration,
    ),
).action(
  async (
    name: string | undefined,
    flags: ClientFlags & { file?: string; params?: unknown; id?: string; wait?: true | number },
  ) => {
    if ((name === undefined) === (flags.file === undefined)) {
      throw new InvalidArgumentError('give either a template name or --file <template.json>');
    }
    let template: unknown = name;
    if (flags.file !== undefined) {
      try {
        template = JSON.parse(readFileSync(flags.file, 'utf8')) as unknown;
      } catch (err) {
        throw new InvalidArgumentError(
          `--file: cannot read a JSON template from ${flags.file} (${(err as Error).message})`,
        );
      }
    }
    const c = client(flags);
    const started = await c.post<WorkflowRow>('/v1/workflows', {
      template,
      ...(flags.params !== undefined ? { params: flags.params } : {}),
      ...(flags.id !== undefined ? { id: flags.id } : {}),
    });
    if (flags.wait === undefined) {
      print(flags, started, () => `started ${workflowLine(started)}`);
      return;
    }
    const deadlineMs = deadlineOf(flags.wait);
    const run = await waitUntil(
      () => c.get<WorkflowRow>(`/v1/workflows/${encodeURIComponent(started.id)}`),
      (r) => r.status !== 'running',
      {
        first: started,
        deadlineMs,
        describe: (r) =>
          `workflow ${r.id} is still running after ${inSeconds(deadlineMs)} (--wait); it goes on: meshwork workflow show ${r.id}`,
      },
    );
    print(flags, run, () => workflowLine(run));
    if (run.status !== 'succeeded') process.exitCode = 1;
  },
);

clientOptions(
  workflow
    .command('list')
    .description('List workflow runs, by run id')
    .option('--limit <n>', 'at most this many', integer, 100)
    .option('--cursor <cursor>', 'the page after the one that printed this cursor'),
).action(async (flags: ClientFlags & { limit: number; cursor?: string }) => {
  const query = new URLSearchParams({
    limit: String(flags.limit),
    ...(flags.cursor ? { cursor: flags.cursor } : {}),
  });
  const page = await client(flags).get<{ items: WorkflowRow[]; nextCursor: string | null }>(
    `/v1/workflows?${query.toString()}`,
  );
  print(flags, page, () =>
    morePages(
      formatTable(
        ['RUN', 'TEMPLATE', 'STATUS', 'TASKS', 'REASON'],
        page.items.map((r) => [r.id, r.name, r.status, String(r.tasks.length), r.reason ?? '']),
      ),
      page.nextCursor,
    ),
  );
});

clientOptions(
  workflow.command('show').description('Show one run: its steps and tasks').argument('<id>', 'run id'),
).action(async (id: string, flags: ClientFlags) => {
  const run = await client(flags).get<WorkflowRow>(`/v1/workflows/${encodeURIComponent(id)}`);
  print(
    flags,
    run,
    () =>
      `${workflowLine(run)}\n${formatTable(
        ['STEP', 'STATE'],
        Object.entries(run.steps),
      )}\ntasks: ${run.tasks.join(' ')}`,
  );
});

interface AgentRow {
  id: string;
  node: string;
  capabilities: string[];
  capacity: number;
  load: number;
  live: boolean;
  local: boolean;
  metadata?: { node?: string };
  /** Absent from daemons older than agent health. */
  health?: { degraded: boolean; reason: string | null };
}

clientOptions(
  program
    .command('agents')
    .description('List the agents the mesh knows, with load, liveness and health (degraded: why)'),
).action(async (flags: ClientFlags) => {
  const agents = await client(flags).get<AgentRow[]>('/v1/agents');
  print(flags, agents, () =>
    formatTable(
      ['AGENT', 'NODE', 'LIVE', 'LOAD', 'CAPABILITIES', 'HEALTH'],
      agents.map((a) => [
        a.id,
        a.node.slice(-10),
        a.live ? 'yes' : 'no',
        `${a.load}/${a.capacity}`,
        a.capabilities.join(','),
        a.health === undefined ? '' : a.health.degraded ? `degraded: ${a.health.reason ?? ''}` : 'ok',
      ]),
    ),
  );
});

interface ReloadReportJson {
  agents: { added: string[]; removed: string[]; changed: string[] };
  logLevel: { from: string; to: string } | null;
  webhooksChanged: boolean;
  restartRequired: string[];
}

function describeReload(r: ReloadReportJson): string {
  const done = [
    ...(['added', 'removed', 'changed'] as const)
      .filter((k) => r.agents[k].length > 0)
      .map((k) => `agents ${k}: ${r.agents[k].join(', ')}`),
    ...(r.logLevel !== null ? [`log level ${r.logLevel.from} -> ${r.logLevel.to}`] : []),
    ...(r.webhooksChanged ? ['webhooks restarted'] : []),
  ];
  const lines = [`reloaded: ${done.length > 0 ? done.join('; ') : 'no live setting changed'}`];
  if (r.restartRequired.length > 0)
    lines.push(`needs a restart (the running values stay): ${r.restartRequired.join(', ')}`);
  return lines.join('\n');
}

clientOptions(
  program
    .command('reload')
    .description(
      'Make a running daemon read its config file again (as SIGHUP does): agents, log level and webhooks change live; other changes are reported as needing a restart',
    )
    .option('-c, --config <file>', "find the daemon through this config file's dataDir (and its apiKey)"),
).action(async (flags: ClientFlags & { config?: string }) => {
  let target: ClientFlags = flags;
  if (flags.config !== undefined && flags.dataDir === undefined) {
    const { loadConfig } = await import('./config.ts');
    // An invalid file fails here with the daemon's own field-naming errors; the daemon is not asked.
    const config = loadConfig(flags.config, {}, process.cwd(), process.env);
    const keyGiven = flags.apiKey !== undefined || flags.apiKeyFile !== undefined;
    target = { ...flags, dataDir: config.dataDir, ...(keyGiven ? {} : { apiKey: config.apiKey }) };
  }
  const report = await client(target).post<ReloadReportJson>('/v1/admin/reload', {});
  print(flags, report, () => describeReload(report));
});

clientOptions(program.command('peers').description('List connected peers')).action(
  async (flags: ClientFlags) => {
    const peers = await client(flags).get<{ peerId: string; addrs: string[] }[]>('/v1/peers');
    print(flags, peers, () =>
      formatTable(
        ['PEER', 'ADDRESSES'],
        peers.map((p) => [p.peerId, p.addrs.join(' ')]),
      ),
    );
  },
);

clientOptions(
  program.command('status').description('Show the node: identity, addresses, peers, tasks by state'),
).action(async (flags: ClientFlags) => {
  const status = await client(flags).get<Record<string, unknown>>('/v1/status');
  print(flags, status, () => JSON.stringify(status, null, 2));
});

targetOptions(
  program
    .command('mcp')
    .description(
      "Serve MCP on stdio (for MCP clients that start a server process), bridged to a running daemon's /mcp endpoint",
    ),
).action(async (flags: ClientTarget) => {
  const { bridgeStdio } = await import('./mcp/stdio-bridge.ts');
  const { url, apiKey } = resolveTarget(flags);
  const log = (message: string): void => void process.stderr.write(`meshwork mcp: ${message}\n`);
  if (apiKey === undefined) log('no API key (--api-key-file, MESHWORK_API_KEY): the session may only read');
  const stop = new AbortController();
  process.once('SIGTERM', () => stop.abort());
  process.once('SIGINT', () => stop.abort());
  await bridgeStdio({ url: `${url}/mcp`, apiKey, log, signal: stop.signal });
  // Idle keep-alive connections to the daemon would hold the process a few seconds more.
  process.exit(0);
});

/** Exit status of `meshwork start` when an address it must listen on is held by another process. */
const EXIT_ADDRESS_IN_USE = 75;

function fail(err: unknown): void {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EACCES') {
    const { address, port } = err as NodeJS.ErrnoException & { address?: string; port?: number };
    console.error(
      `meshwork: cannot listen on ${address ?? ''}:${port ?? ''} (${code}); set http.port or --http-port`,
    );
  } else if (
    err instanceof AddressInUseError ||
    err instanceof ConfigError ||
    err instanceof ClientError ||
    err instanceof InvalidArgumentError ||
    err instanceof WaitDeadlineError ||
    err instanceof AlreadyInitialisedError
  ) {
    console.error(`meshwork: ${err.message}`);
  } else {
    console.error(`meshwork: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  }
  process.exit(
    err instanceof ConfigError
      ? 2
      : err instanceof AddressInUseError
        ? EXIT_ADDRESS_IN_USE
        : err instanceof WaitDeadlineError
          ? EXIT_WAIT_DEADLINE
          : 1,
  );
}

program.parseAsync(process.argv).catch(fail);
