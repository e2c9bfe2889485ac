/**
 * V8 grows its young generation to 32 MB per semi-space while a daemon works and keeps it: a
 * daemon that had handled a burst of tasks held about 300 MB, against about 190 MB with 8 MB
 * semi-spaces, at the same throughput (bench/RESULTS.md). The size is fixed when Node starts, so
 * `meshwork start` relaunches itself with it, in the same process (`process.execve`).
 */
export const DAEMON_SEMI_SPACE_MB = 8;

const FLAG = '--max-semi-space-size';

/**
 * The arguments `meshwork start` should relaunch with, or undefined to run as it is: for any
 * other command, when the flag is already set (on the command line or in NODE_OPTIONS, which
 * then wins), or when this Node cannot relaunch in place (`process.execve` came in 22.15, and is not
 * available on Windows).
 */
export function daemonRelaunchArgs(p: {
  readonly argv: readonly string[];
  readonly execArgv: readonly string[];
  readonly nodeOptions: string | undefined;
  readonly canRelaunch: boolean;
}): string[] | undefined {
  const [execPath, script, command] = p.argv;
  if (command !== 'start' || execPath === undefined || script === undefined || !p.canRelaunch)
    return undefined;
  const set = (arg: string): boolean => arg === FLAG || arg.startsWith(`${FLAG}=`);
  if (p.execArgv.some(set) || (p.nodeOptions ?? '').split(/\s+/).some(set)) return undefined;
  return [execPath, `${FLAG}=${DAEMON_SEMI_SPACE_MB}`, ...p.execArgv, ...p.argv.slice(1)];
}
