import { join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import type { ConfigFlags } from '../config.ts';
import { integer } from './options.ts';

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

/** `init`, `start` and `demo`: the commands that make and run nodes. */
export function addNodeCommands(program: Command): void {
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
      const { defaultNodeName, initNode } = await import('../init.ts');
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
      const { loadConfig } = await import('../config.ts');
      const cwd = process.cwd();
      const config = loadConfig(options.config, options, cwd, process.env);
      const { runDaemon } = await import('../run-daemon.ts');
      const { tolerateClosedStreamWrites } = await import('../closed-stream-writes.ts');
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
      const { runDemo } = await import('../demo.ts');
      process.exitCode = await runDemo({
        once: options.once === true,
        dir: options.dir,
        httpPort: options.httpPort,
        timeoutMs: options.timeout,
      });
    });
}
