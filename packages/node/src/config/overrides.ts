import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from '../config-error.ts';
import { parseSwarmKey } from '../swarm-key.ts';
import { logLevel } from './field-schemas.ts';

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

function integerFlag(value: string | undefined): number | string | undefined {
  if (value === undefined) return undefined;
  // Left as a string when not an integer so the schema reports it against the key.
  return /^-?\d+$/.test(value) ? Number(value) : value;
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

/** The file's contents with `env` and then `flags` applied over it, not yet validated. */
export interface Overridden {
  readonly input: Record<string, unknown>;
  /** The swarm key from `MESHWORK_SWARM_KEY`, which replaces the file's `pskFile`. */
  readonly swarmKey?: Uint8Array;
}

/** Applies environment variables and command-line flags over a config file's contents. */
export function applyOverrides(
  raw: Record<string, unknown>,
  flags: ConfigFlags,
  env: ConfigEnv,
  cwd: string,
): Overridden {
  const fromEnv = (name: keyof ConfigEnv): string | undefined => env[name] || undefined;
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
  if (envKey === undefined) return { input: merged };
  const swarmKey = parseSwarmKey(envKey);
  if (swarmKey === undefined) {
    throw new ConfigError([
      'MESHWORK_SWARM_KEY: expected the contents of a swarm key file (/key/swarm/psk/1.0.0/, /base16/, 64 hex digits) or the 64 hex digits alone',
    ]);
  }
  delete merged.pskFile;
  return { input: merged, swarmKey };
}
