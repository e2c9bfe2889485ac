import { ConfigError } from './config-error.ts';
import type { ResolvedConfig } from './config.ts';
import { startDaemon, type Daemon, type DaemonOptions } from './daemon.ts';
import { EventLogError } from './persistence.ts';
import { ReloadRefusedError } from './reload/reloader.ts';

/**
 * `meshwork start`: runs until SIGTERM/SIGINT, then stops gracefully; a second signal exits at once.
 * SIGHUP reloads the config (see `Daemon.reload`).
 */
export async function runDaemon(
  config: ResolvedConfig,
  options: DaemonOptions & { stopOnStdinClose?: boolean } = {},
): Promise<void> {
  // Listening before the daemon starts: with no listener, a SIGHUP that arrives while it starts (a
  // supervisor reloading as soon as daemon.json appears) would end the process. It is applied once started.
  const starting: { daemon?: Daemon; hungUp: boolean } = { hungUp: false };
  const onHangup = (): void => {
    const started = starting.daemon;
    if (started === undefined) {
      starting.hungUp = true;
      return;
    }
    try {
      started.reload();
    } catch (err) {
      // An invalid config is logged by the reload itself, with its issues.
      if (err instanceof ReloadRefusedError) started.logger.info(`SIGHUP ignored: ${err.message}`);
      else if (!(err instanceof ConfigError)) started.logger.error({ err }, 'config reload failed');
    }
  };
  process.on('SIGHUP', onHangup);
  const daemon = await startDaemon(config, options).catch((err: unknown) => {
    process.off('SIGHUP', onHangup);
    throw err;
  });
  starting.daemon = daemon;
  if (starting.hungUp) onHangup();
  // A shutdown step that throws would otherwise leave `stopped` pending and the process hanging.
  const stop = (reason: string): void => {
    daemon.stop(reason).catch((err: unknown) => {
      // The event log failed while draining: `stopped` rejects once the fail-stop is done.
      if (err instanceof EventLogError) return;
      daemon.logger.fatal({ err }, 'graceful shutdown failed; exiting');
      daemon.logger.flush();
      process.exit(1);
    });
  };
  if (options.stopOnStdinClose === true) {
    process.stdin.on('error', () => undefined);
    process.stdin.once('close', () => stop('supervisor closed stdin'));
    process.stdin.resume();
  }
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (++signals > 1) {
      daemon.logger.warn({ signal }, 'second signal: exiting without draining');
      daemon.logger.flush();
      process.exit(130);
    }
    stop(`received ${signal}`);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    await daemon.stopped;
  } catch (err) {
    // Already logged: the status tells a supervisor not to restart into the same failing disk blindly.
    if (err instanceof EventLogError) process.exit(70);
    throw err;
  }
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  process.off('SIGHUP', onHangup);
  process.stdin.pause();
  process.stdin.destroy();
}
