import { InvalidArgumentError, Option, type Command } from 'commander';
import { createClient, resolveTarget, type ClientTarget, type NodeClient } from '../client.ts';
import { parseDuration } from '../wait.ts';

/* Option parsers and the pieces every client command shares: which daemon, its key, how to print. */

export function integer(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a non-negative integer');
  return Number(value);
}

export function signedInteger(value: string): number {
  if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError('expected an integer');
  return Number(value);
}

export function duration(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined) throw new InvalidArgumentError('expected a duration such as 30s, 500ms, 5m or 1h');
  return ms;
}

export function json(value: string): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch {
    throw new InvalidArgumentError('expected JSON');
  }
}

/** Which daemon, and the key. */
export function targetOptions(cmd: Command): Command {
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
export function clientOptions(cmd: Command): Command {
  return targetOptions(cmd).option('--json', 'print raw JSON');
}

export interface ClientFlags extends ClientTarget {
  json?: boolean;
}

export function client(flags: ClientFlags): NodeClient {
  return createClient(resolveTarget(flags));
}

export function print(flags: ClientFlags, value: unknown, table: () => string): void {
  console.log(flags.json === true ? JSON.stringify(value, null, 2) : table());
}

/** A page's table, and how to ask for the next page when there is one. */
export function morePages(table: string, nextCursor: string | null): string {
  return nextCursor === null ? table : `${table}\nmore: --cursor ${nextCursor}`;
}

/** Exit status when `--wait` gives up: the task or run goes on, only the wait ended (as with timeout(1)). */
export const EXIT_WAIT_DEADLINE = 124;

export const deadlineOf = (wait: true | number): number | undefined => (wait === true ? undefined : wait);
export const inSeconds = (ms: number | undefined): string => `${Number(((ms ?? 0) / 1000).toFixed(3))}s`;
