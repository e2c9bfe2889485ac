import { MeshworkError } from '@meshwork/core';
import type { ConfiguredAgents } from '../agents.ts';
import { ConfigError } from '../config-error.ts';
import type { ResolvedConfig, WebhookConfig } from '../config.ts';
import type { Logger } from '../logger.ts';
import { planReload, type AgentChanges } from './plan.ts';

/** What a reload did; `restartRequired` lists the changed keys that keep their running value. */
export interface ReloadReport {
  readonly agents: AgentChanges;
  readonly logLevel: { readonly from: string; readonly to: string } | null;
  readonly webhooksChanged: boolean;
  /** The allow-list was replaced: peers off it were disconnected, peers on it are admitted. */
  readonly allowListChanged: boolean;
  readonly restartRequired: readonly string[];
}

/** A reload refused for the daemon's state (it is draining), not for the config. */
export class ReloadRefusedError extends MeshworkError {
  override readonly name = 'ReloadRefusedError';
  constructor(message: string) {
    super('reload_refused', message);
  }
}

export interface Reloader {
  /**
   * Reads the config again (or takes `next`) and applies what can change live: agents, log level,
   * webhooks, the allow-list. Throws ConfigError, changing nothing, when the new config is invalid.
   */
  reload(next?: ResolvedConfig): ReloadReport;
  /** The config in force: the last one applied, with the keys that need a restart as started. */
  current(): ResolvedConfig;
}

export function createReloader(deps: {
  readonly initial: ResolvedConfig;
  /** Reads and validates the config file (with the flags and environment of the start). */
  readonly load: (() => ResolvedConfig) | undefined;
  readonly agents: ConfiguredAgents;
  readonly logger: Logger;
  /** Stops the webhooks and starts them again with `hooks`. */
  readonly restartWebhooks: (hooks: readonly WebhookConfig[]) => void;
  /** Replaces the mesh's allow-list; resolves once the peers off it are disconnected. */
  readonly setAllowList: (peers: readonly string[] | undefined) => Promise<void>;
  /** Whether an agent id is taken on this node by something other than the config (a pull worker). */
  readonly agentTaken: (id: string) => boolean;
  readonly draining: () => boolean;
}): Reloader {
  const { logger } = deps;
  let running = deps.initial;

  const read = (): ResolvedConfig => {
    if (deps.load === undefined)
      throw new ConfigError([
        'config: this daemon was started from a config object, with no file to read again',
      ]);
    return deps.load();
  };

  return {
    reload(next) {
      if (deps.draining()) throw new ReloadRefusedError('the node is draining: nothing is reloaded');
      let fresh: ResolvedConfig;
      try {
        fresh = next ?? read();
        const plan = planReload(running, fresh);
        const taken = plan.agents.added.filter(deps.agentTaken);
        if (taken.length > 0)
          throw new ConfigError(
            taken.map((id) => `agents: ${id} is already registered on this node by a pull worker`),
          );
        // Webhooks first: the one step that can fail on the node's own state (its database).
        if (plan.webhooksChanged) deps.restartWebhooks(fresh.webhooks);
        const agents = deps.agents.apply(fresh.agents);
        // Admission changes at once; the disconnections finish in the background.
        if (plan.allowListChanged)
          deps
            .setAllowList(fresh.allowList)
            .catch((err: unknown) =>
              logger.warn({ err }, 'closing connections off the new allow-list failed'),
            );
        running = {
          ...running,
          allowList: fresh.allowList,
          agents: fresh.agents,
          logLevel: fresh.logLevel,
          webhooks: fresh.webhooks,
        };
        const report: ReloadReport = {
          agents,
          logLevel: plan.logLevel,
          webhooksChanged: plan.webhooksChanged,
          allowListChanged: plan.allowListChanged,
          restartRequired: plan.restartRequired,
        };
        // Logged at the level in force when the reload was asked for.
        logger.info(report, 'config reloaded');
        if (report.restartRequired.length > 0)
          logger.warn(
            { restartRequired: report.restartRequired },
            'config changes that take effect only after a restart; the running values stay',
          );
        if (plan.logLevel !== null) logger.level = plan.logLevel.to;
        return report;
      } catch (err) {
        if (err instanceof ConfigError)
          logger.error({ issues: err.issues }, 'config reload refused; the running config stays');
        throw err;
      }
    },
    current: () => running,
  };
}
