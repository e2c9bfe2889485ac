import { dirname, isAbsolute, join, resolve } from 'node:path';
import { CoordinatorError, parseTemplate, type WorkflowTemplate } from '@meshwork/coordinator';
import type { z } from 'zod';
import { ConfigError } from './config-error.ts';
import { readConfigFile } from './config/config-file.ts';
import { applyOverrides, type ConfigEnv, type ConfigFlags } from './config/overrides.ts';
import { configSchema, type NodeConfig } from './config/schema.ts';

// The schema's sections live in ./config/; this module loads and validates a config and is where
// the rest of the node imports the config's names from.
export { configSchema } from './config/schema.ts';
export type { AgentConfig, NodeConfig, TelemetryConfig, WebhookConfig } from './config/schema.ts';
export type { HttpSettings, ModuleSettings, ShellSettings } from './config/agent-settings.ts';
export { defaultLimits } from './config/limit-settings.ts';
export { defaultMcpSettings, type McpSettings } from './config/mcp-settings.ts';
export { WEBHOOK_EVENTS, type WebhookEventType } from './config/webhook-settings.ts';
export { defaultWorkerSettings, type WorkerSettings } from './config/worker-settings.ts';
export type { ConfigEnv, ConfigFlags } from './config/overrides.ts';

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
  const file = configFile ?? (env.MESHWORK_CONFIG || undefined);
  let raw: Record<string, unknown> = {};
  let baseDir = cwd;
  if (file !== undefined) {
    const path = resolve(cwd, file);
    baseDir = dirname(path);
    raw = readConfigFile(path);
  }
  const { input, swarmKey } = applyOverrides(raw, flags, env, cwd);
  const config = parseConfig(input, baseDir, cwd);
  return swarmKey === undefined ? config : { ...config, swarmKey };
}
