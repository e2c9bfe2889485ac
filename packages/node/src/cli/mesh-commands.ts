import type { Command } from 'commander';
import { resolveTarget, type ClientTarget } from '../client.ts';
import { formatTable } from '../format.ts';
import { client, clientOptions, print, targetOptions, type ClientFlags } from './options.ts';

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

interface ReloadReportJson {
  agents: { added: string[]; removed: string[]; changed: string[] };
  logLevel: { from: string; to: string } | null;
  webhooksChanged: boolean;
  /** Absent from daemons older than a live allow-list. */
  allowListChanged?: boolean;
  restartRequired: string[];
}

function describeReload(r: ReloadReportJson): string {
  const done = [
    ...(['added', 'removed', 'changed'] as const)
      .filter((k) => r.agents[k].length > 0)
      .map((k) => `agents ${k}: ${r.agents[k].join(', ')}`),
    ...(r.logLevel !== null ? [`log level ${r.logLevel.from} -> ${r.logLevel.to}`] : []),
    ...(r.webhooksChanged ? ['webhooks restarted'] : []),
    ...(r.allowListChanged === true ? ['allow-list replaced'] : []),
  ];
  const lines = [`reloaded: ${done.length > 0 ? done.join('; ') : 'no live setting changed'}`];
  if (r.restartRequired.length > 0)
    lines.push(`needs a restart (the running values stay): ${r.restartRequired.join(', ')}`);
  return lines.join('\n');
}

/** `agents`, `reload`, `peers`, `status` and `mcp`: the running node and its mesh. */
export function addMeshCommands(program: Command): void {
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
      const { loadConfig } = await import('../config.ts');
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
    program.command('status').description('Show the node: identity, addresses, peers, tasks by status'),
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
    const { bridgeStdio } = await import('../mcp/stdio-bridge.ts');
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
}
