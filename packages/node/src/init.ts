import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { createSwarmKey } from '@meshwork/transport';
import { AlreadyInitialisedError } from './already-initialised.ts';
import { ConfigError } from './config-error.ts';
import { parseConfig } from './config.ts';
import { apiKeyFor, nodeKey } from './identity.ts';
import { openStore } from './store.ts';
import { parseSwarmKey } from './swarm-key.ts';

/** The config file `meshwork init` writes into the data directory. */
export const CONFIG_FILE = 'meshwork.json';
const SWARM_KEY_FILE = 'swarm.key';

export interface InitOptions {
  name: string;
  /** Absolute. */
  dataDir: string;
  listen: string[];
  bootstrap: string[];
  httpPort: number;
  /** Private network: `true` writes a new swarm key, a path copies that key (every node needs the same one). */
  swarmKey?: true | string;
}

export interface InitResult {
  name: string;
  dataDir: string;
  configFile: string;
  peerId: string;
  apiKeyFile: string;
  swarmKeyFile: string | undefined;
  /** What other nodes put in `bootstrap` to reach this one. */
  bootstrapAddrs: string[];
}

/** The machine's host name as a node name (1–64 of `A-Z a-z 0-9 . _ -`). */
export function defaultNodeName(): string {
  const name = hostname()
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 64);
  return name.length > 0 ? name : 'node';
}

/**
 * Creates a node's data directory: its key (in the SQLite store, where `meshwork start` reads
 * it), its API key, a swarm key if asked, and a config file. Validates everything before
 * writing anything.
 */
export async function initNode(options: InitOptions): Promise<InitResult> {
  const configFile = join(options.dataDir, CONFIG_FILE);
  if (existsSync(configFile)) {
    throw new AlreadyInitialisedError(
      `${configFile} exists already; start the node with meshwork start --config ${configFile}, or choose another --data-dir`,
    );
  }
  const swarmKey = options.swarmKey !== undefined ? readOrCreateSwarmKey(options.swarmKey) : undefined;
  const config = {
    name: options.name,
    // Relative paths in a config file resolve against its directory: this one's is the data dir.
    dataDir: '.',
    listen: options.listen,
    bootstrap: options.bootstrap,
    ...(swarmKey !== undefined ? { pskFile: SWARM_KEY_FILE } : {}),
    http: { host: '127.0.0.1', port: options.httpPort },
    logLevel: 'info',
    agents: [],
  };
  const resolved = parseConfig(config, options.dataDir);

  mkdirSync(options.dataDir, { recursive: true });
  const store = openStore(options.dataDir);
  let peerId: string;
  try {
    peerId = peerIdFromPrivateKey(await nodeKey(store)).toString();
  } finally {
    store.close();
  }
  apiKeyFor(resolved);
  let swarmKeyFile: string | undefined;
  if (swarmKey !== undefined) {
    swarmKeyFile = join(options.dataDir, SWARM_KEY_FILE);
    writeFileSync(swarmKeyFile, swarmKey, { mode: 0o600 });
  }
  // Last, and only if absent: a config file is what marks the directory as initialised.
  writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`, { flag: 'wx' });
  return {
    name: options.name,
    dataDir: options.dataDir,
    configFile,
    peerId,
    apiKeyFile: join(options.dataDir, 'api-key'),
    swarmKeyFile,
    bootstrapAddrs: options.listen.flatMap((addr) => dialable(addr)).map((addr) => `${addr}/p2p/${peerId}`),
  };
}

function readOrCreateSwarmKey(source: true | string): Uint8Array {
  if (source === true) return createSwarmKey();
  let text: string;
  try {
    text = readFileSync(source, 'utf8');
  } catch (err) {
    throw new ConfigError([`--swarm-key: cannot read ${source} (${(err as Error).message})`]);
  }
  const key = parseSwarmKey(text);
  if (key === undefined) throw new ConfigError([`--swarm-key: ${source} is not a swarm key file`]);
  return key;
}

/**
 * The addresses others can dial for a listen address: a wildcard host stands for this machine's
 * external addresses of that family (loopback when it has none); port 0 is chosen at start, so
 * nobody can be told it now.
 */
function dialable(listen: string): string[] {
  const match = /^\/(ip4|ip6)\/([^/]+)\/tcp\/(\d+)$/.exec(listen);
  if (match === null) return [listen];
  const [family, host, port] = [match[1] === 'ip6' ? 'ip6' : 'ip4', match[2], match[3]];
  if (port === '0') return [];
  if (host !== '0.0.0.0' && host !== '::') return [listen];
  const hosts = Object.values(networkInterfaces())
    .flatMap((addresses) => addresses ?? [])
    .filter((i) => !i.internal && i.family === (family === 'ip4' ? 'IPv4' : 'IPv6'))
    .map((i) => i.address)
    .filter((address) => !address.startsWith('fe80:'));
  const chosen = hosts.length > 0 ? hosts : [family === 'ip4' ? '127.0.0.1' : '::1'];
  return chosen.map((address) => `/${family}/${address}/tcp/${port}`);
}
