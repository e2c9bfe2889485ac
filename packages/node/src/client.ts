import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { MeshworkError } from '@meshwork/core';

/** What a running daemon writes to `<dataDir>/daemon.json` so clients and the demo can find it. */
export interface DaemonInfo {
  node: string;
  pid: number;
  url: string;
  peerId: string;
  multiaddrs: string[];
}

/**
 * The daemon answered with an error (`code` is the API's, `status` the HTTP status), or could not
 * be reached (`unreachable`), or the key file could not be read (`api_key_file`).
 */
export class ClientError extends MeshworkError {
  override readonly name = 'ClientError';
  readonly status: number | undefined;
  constructor(code: string, message: string, options: { status?: number; field?: string } = {}) {
    super(code, message, { ...(options.field !== undefined && { field: options.field }) });
    this.status = options.status;
  }
}

export interface ClientTarget {
  url?: string;
  apiKey?: string;
  /** A file holding the key, so it need not appear in the process list. */
  apiKeyFile?: string;
  dataDir?: string;
  node?: string;
}

export function readDaemonInfo(dataDir: string): DaemonInfo | undefined {
  const file = join(dataDir, 'daemon.json');
  if (!existsSync(file)) return undefined;
  let info: Partial<DaemonInfo>;
  try {
    info = JSON.parse(readFileSync(file, 'utf8')) as Partial<DaemonInfo>;
  } catch {
    return undefined;
  }
  // Another program's file, or one from an older version: not a daemon we can talk to.
  const valid =
    typeof info === 'object' &&
    info !== null &&
    typeof info.url === 'string' &&
    typeof info.pid === 'number' &&
    typeof info.node === 'string' &&
    typeof info.peerId === 'string' &&
    Array.isArray(info.multiaddrs);
  return valid ? (info as DaemonInfo) : undefined;
}

/**
 * Finds the daemon to talk to: `--url`, then `MESHWORK_URL`, then `daemon.json` in the data dir
 * (`--data-dir`, or `./.meshwork/<node>`, or the only node under `./.meshwork`), then the default port.
 * The API key comes from `--api-key`, `--api-key-file`, `MESHWORK_API_KEY` or the data dir's
 * `api-key` file.
 */
export function resolveTarget(
  target: ClientTarget,
  cwd = process.cwd(),
): { url: string; apiKey: string | undefined } {
  let dataDir = target.dataDir !== undefined ? resolve(cwd, target.dataDir) : undefined;
  if (dataDir === undefined && target.node !== undefined) dataDir = join(cwd, '.meshwork', target.node);
  if (dataDir === undefined) {
    const root = join(cwd, '.meshwork');
    const nodes = existsSync(root)
      ? readdirSync(root).filter((n) => existsSync(join(root, n, 'daemon.json')))
      : [];
    if (nodes.length === 1) dataDir = join(root, nodes[0]!);
  }
  const info = dataDir !== undefined ? readDaemonInfo(dataDir) : undefined;
  const url = target.url ?? process.env.MESHWORK_URL ?? info?.url ?? 'http://127.0.0.1:7070';
  let apiKey = target.apiKey;
  if (apiKey === undefined && target.apiKeyFile !== undefined) {
    const file = resolve(cwd, target.apiKeyFile);
    try {
      apiKey = readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new ClientError(
        'api_key_file',
        `cannot read the API key file ${file}: ${(err as Error).message}`,
        {
          field: 'apiKeyFile',
        },
      );
    }
  }
  apiKey ??= process.env.MESHWORK_API_KEY || undefined;
  if (apiKey === undefined && dataDir !== undefined && existsSync(join(dataDir, 'api-key'))) {
    apiKey = readFileSync(join(dataDir, 'api-key'), 'utf8').trim();
  }
  return { url: url.replace(/\/$/, ''), apiKey };
}

/** A small client for the daemon's HTTP API. */
export interface NodeClient {
  get<T = unknown>(path: string): Promise<T>;
  post<T = unknown>(path: string, body: unknown): Promise<T>;
}

export function createClient(target: { url: string; apiKey?: string | undefined }): NodeClient {
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    let res: Response;
    try {
      res = await fetch(target.url + path, {
        method,
        headers: {
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(target.apiKey !== undefined ? { authorization: `Bearer ${target.apiKey}` } : {}),
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      });
    } catch (err) {
      throw new ClientError(
        'unreachable',
        `cannot reach the daemon at ${target.url}: ${(err as Error).message}`,
      );
    }
    const text = await res.text();
    let json: unknown = text;
    try {
      json = JSON.parse(text);
    } catch {
      // Not JSON: keep the text.
    }
    if (!res.ok) {
      const error = (json as { error?: { code?: string; message?: string; field?: string } }).error;
      throw new ClientError(
        error?.code ?? 'http_error',
        `${method} ${path}: ${res.status} ${error?.message ?? text}`,
        {
          status: res.status,
          ...(error?.field !== undefined && { field: error.field }),
        },
      );
    }
    return json as T;
  };
  return {
    get: (path) => call('GET', path),
    post: (path, body) => call('POST', path, body),
  };
}
