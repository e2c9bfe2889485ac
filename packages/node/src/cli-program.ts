import { Command, InvalidArgumentError, Option } from 'commander';
import { ClientError, createClient, resolveTarget, type ClientTarget } from './client.ts';
import { AddressInUseError } from './address-in-use.ts';
import { ConfigError } from './config-error.ts';
import type { ConfigFlags } from './config.ts';
import { formatTable } from './format.ts';
import { VERSION } from './version.ts';

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

program
  .command('start')
  .description('Start a mesh node daemon in the foreground (SIGTERM/SIGINT drain and stop it)')
  .option('-c, --config <file>', 'JSON config file (flags override its keys)')
  .option('--name <name>', 'node name (config: name)')
  .option('--data-dir <dir>', 'data directory (config: dataDir; default ./.meshwork/<name>)')
  .option('--listen <multiaddr...>', 'libp2p listen addresses (config: listen)')
  .option('--bootstrap <multiaddr...>', 'peers to connect to and keep connected (config: bootstrap)')
  .option('--psk-file <file>', 'private-network swarm key file (config: pskFile)')
  .option('--allow <peerId...>', 'only these peers may connect (config: allowList)')
  .option('--http-host <host>', 'HTTP API bind address (config: http.host; default 127.0.0.1)')
  .option('--http-port <port>', 'HTTP API port, 0 = any free port (config: http.port; default 7070)')
  .option('--api-key <key>', 'bearer key for mutating API calls (config: apiKey)')
  .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent (config: logLevel)')
  .option('--log-file <file>', 'write logs to this file instead of stdout (config: logFile)')
  .option('--drain-timeout <ms>', 'how long shutdown waits for running tasks (config: drainTimeoutMs)')
  // For supervisors (the demo): stop gracefully when the parent closes our stdin, e.g. by dying.
  .addOption(new Option('--stop-on-stdin-close').hideHelp())
  .action(async (options: StartOptions & { stopOnStdinClose?: boolean }) => {
    // Loaded here so client commands and --help do not pay for the coordinator and the mesh.
    const { loadConfig } = await import('./config.ts');
    const config = loadConfig(options.config, options);
    const { runDaemon } = await import('./daemon.ts');
    await runDaemon(config, { stopOnStdinClose: options.stopOnStdinClose === true });
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

/** Options every client command shares: which daemon, and the key. */
function clientOptions(cmd: Command): Command {
  return cmd
    .option(
      '--url <url>',
      'daemon HTTP URL (env MESHWORK_URL; default: from the data dir, else http://127.0.0.1:7070)',
    )
    .option('--node <name>', 'find the daemon through ./.meshwork/<name>/daemon.json')
    .option('--data-dir <dir>', 'find the daemon and its API key through this data directory')
    .option('--api-key <key>', 'bearer key (env MESHWORK_API_KEY; default: <data dir>/api-key)')
    .option('--json', 'print raw JSON');
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
  wait?: boolean;
}

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
    .option('--wait', 'wait until the task ends; print it and exit 0 if it succeeded, 1 otherwise'),
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
  const c = client(flags);
  const created = await c.post<TaskRow>('/v1/tasks', body);
  if (flags.wait !== true) {
    print(flags, created, () => `submitted ${created.id} (${created.status})`);
    return;
  }
  const path = `/v1/tasks/${encodeURIComponent(created.id)}`;
  let task = created as TaskRow & { result?: unknown; error?: string | null; removed?: boolean };
  // A removed task is finished: its status is null only when this node did not see it end.
  while (task.removed !== true && !['succeeded', 'failed', 'cancelled'].includes(task.status)) {
    await new Promise((r) => setTimeout(r, 200));
    task = await c.get(path);
  }
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
      new Option('--state <state>', 'only tasks in this state').choices([
        'pending',
        'claimed',
        'running',
        'succeeded',
        'failed',
        'cancelled',
      ]),
    )
    .option('--limit <n>', 'at most this many', integer, 100),
).action(async (flags: ClientFlags & { state?: string; limit: number }) => {
  const query = new URLSearchParams({
    limit: String(flags.limit),
    ...(flags.state ? { state: flags.state } : {}),
  });
  const tasks = await client(flags).get<TaskRow[]>(`/v1/tasks?${query.toString()}`);
  print(flags, tasks, () =>
    formatTable(
      ['ID', 'TYPE', 'STATUS', 'EPOCH', 'AGENT', 'SUBMITTED'],
      tasks.map((t) => [
        t.id,
        t.type,
        t.status,
        String(t.epoch ?? ''),
        t.agent ?? '',
        t.submittedAt ? new Date(t.submittedAt).toISOString() : '',
      ]),
    ),
  );
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

interface AgentRow {
  id: string;
  node: string;
  capabilities: string[];
  capacity: number;
  load: number;
  live: boolean;
  local: boolean;
  metadata?: { node?: string };
}

clientOptions(
  program.command('agents').description('List the agents the mesh knows, with load and liveness'),
).action(async (flags: ClientFlags) => {
  const agents = await client(flags).get<AgentRow[]>('/v1/agents');
  print(flags, agents, () =>
    formatTable(
      ['AGENT', 'NODE', 'LIVE', 'LOAD', 'CAPABILITIES'],
      agents.map((a) => [
        a.id,
        a.node.slice(-10),
        a.live ? 'yes' : 'no',
        `${a.load}/${a.capacity}`,
        a.capabilities.join(','),
      ]),
    ),
  );
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
    err instanceof InvalidArgumentError
  ) {
    console.error(`meshwork: ${err.message}`);
  } else {
    console.error(`meshwork: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  }
  process.exit(err instanceof ConfigError ? 2 : err instanceof AddressInUseError ? EXIT_ADDRESS_IN_USE : 1);
}

program.parseAsync(process.argv).catch(fail);
