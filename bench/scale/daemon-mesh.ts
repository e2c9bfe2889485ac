/**
 * A mesh of real `meshwork start` daemons on loopback, for the scale bench and the scale
 * integration test: every daemon is its own process with one no-op agent, and the topology is
 * sparse, each daemon bootstrapping to one or two random earlier ones. Ports are fixed when a
 * daemon is first started, so a restarted daemon (same data directory, so the same peer id) is
 * found where it was.
 *
 * Every daemon is started supervised (it stops itself when this process dies) and SIGKILLed when
 * this process exits, so no run leaves daemons behind.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  api,
  freePort,
  startDaemonProcess,
  tempDir,
  type DaemonProcess,
} from '../../packages/node/test/support/processes.ts';
import { sparseLinks } from '../sparse-topology.ts';

// Plain JavaScript, so that a daemon run as installed (compiled) never loads the type stripper.
const handler = (name: string): string => fileURLToPath(new URL(`./handlers/${name}.js`, import.meta.url));

/** Module-executor handlers every agent of the mesh may run, by the name tasks give. */
export const HANDLERS = { noop: handler('noop'), held: handler('held') } as const;

export interface MeshDaemon {
  readonly index: number;
  readonly name: string;
  /** The id of its one agent. */
  readonly agent: string;
  readonly url: string;
  readonly peerId: string;
  /** Its libp2p address with `/p2p/<peerId>`, the same across restarts. */
  readonly multiaddr: string;
  /** The daemons it bootstraps to (indexes of earlier ones). */
  readonly bootstrap: readonly number[];
  /** The running process, or the last one; replaced by a restart. */
  process: DaemonProcess;
  /** False once stopped, until restarted. */
  running: boolean;
}

export interface DaemonMeshOptions {
  readonly size: number;
  /** Picks the topology; the same seed gives the same bootstrap links. */
  readonly seed?: number;
  /** Tasks an agent runs at once (default 1). */
  readonly capacity?: number;
  /** Daemons starting at once; each also waits for the ones it bootstraps to (default 3). */
  readonly parallel?: number;
  /** Called as daemons come up, with how many have. */
  readonly onStarted?: (started: number) => void;
  /** The `meshwork` entry point every daemon runs (default: the sources'; see installed-cli.ts). */
  readonly cli?: string;
}

export interface DaemonMesh {
  readonly dir: string;
  readonly daemons: readonly MeshDaemon[];
  /** Sends `signal` to a running daemon and resolves once its process has exited. */
  stop(daemon: MeshDaemon, signal: 'SIGKILL' | 'SIGTERM'): Promise<void>;
  /** Starts a stopped daemon again from its data directory, on its ports. */
  restart(daemon: MeshDaemon): Promise<void>;
  /**
   * Gives a running daemon a new allow-list (absent: it admits everyone) through its config file
   * and a reload, and resolves once the reload has answered; it closes its links off the list.
   */
  admit(daemon: MeshDaemon, allow?: readonly MeshDaemon[]): Promise<void>;
  /** SIGKILLs every daemon still running and removes the data directory. */
  close(): Promise<void>;
}

/** How long one daemon may take to start serving: generous, as 50 may start on 2 busy cores. */
const START_TIMEOUT_MS = 120_000;

/** A daemon's name, from its index: `n00`, `n01`, … */
const nameOf = (index: number): string => `n${String(index).padStart(2, '0')}`;

const live = new Set<DaemonProcess>();
const killAll = (): void => {
  for (const p of live) p.child.kill('SIGKILL');
};
let exitHookInstalled = false;

/**
 * Starts `size` daemons, each bootstrapping to one or two random earlier ones, and resolves once
 * every one serves its API (not yet ready: see `/readyz`). On failure, every daemon started is
 * killed before the error is thrown.
 */
export async function startDaemonMesh(options: DaemonMeshOptions): Promise<DaemonMesh> {
  if (!exitHookInstalled) {
    process.on('exit', killAll);
    exitHookInstalled = true;
  }
  const dir = tempDir('scale');
  const links = sparseLinks(options.size, options.seed ?? 1);
  const capacity = options.capacity ?? 1;
  const ports = new Map<number, { listen: number; http: number }>();
  const daemons: MeshDaemon[] = [];

  const configOf = (index: number, bootstrap: readonly string[]): Record<string, unknown> => {
    const name = nameOf(index);
    const { listen, http } = ports.get(index)!;
    return {
      name,
      listen: [`/ip4/127.0.0.1/tcp/${listen}`],
      bootstrap,
      http: { port: http },
      drainTimeoutMs: 1_000,
      // Finished tasks stay in the shared state for the whole run, so every node's view of the
      // task set can be compared at the end.
      retention: { finishedMs: 24 * 3_600_000 },
      agents: [{ id: `${name}-agent`, capacity, executors: { module: { handlers: HANDLERS } } }],
    };
  };
  const launch = async (config: Record<string, unknown>): Promise<DaemonProcess> => {
    const p = await startDaemonProcess(dir, config, {
      supervised: true,
      timeoutMs: START_TIMEOUT_MS,
      ...(options.cli !== undefined ? { cli: options.cli } : {}),
    });
    live.add(p);
    void p.exited.then(() => live.delete(p));
    return p;
  };

  const started: Promise<MeshDaemon>[] = [];
  let slots = options.parallel ?? 3;
  const waiting: (() => void)[] = [];
  const slot = async (): Promise<void> => {
    if (slots > 0) {
      slots--;
      return;
    }
    await new Promise<void>((r) => waiting.push(r));
  };
  const free = (): void => {
    const next = waiting.shift();
    if (next) next();
    else slots++;
  };
  for (let i = 0; i < options.size; i++) {
    started.push(
      (async () => {
        const targets = await Promise.all(links[i]!.map((t) => started[t]!));
        await slot();
        try {
          const config = (): Record<string, unknown> =>
            configOf(
              i,
              targets.map((t) => t.multiaddr),
            );
          // A port found free can be taken before the daemon binds it: by another daemon's
          // outgoing connection, from the same ephemeral range. Fresh ones are picked then.
          let p: DaemonProcess | undefined;
          for (let tries = 1; p === undefined; tries++) {
            ports.set(i, { listen: await freePort(), http: await freePort() });
            p = await launch(config()).catch((err: unknown) => {
              if (tries < 3 && String(err).includes('is in use')) return undefined;
              throw err;
            });
          }
          const name = nameOf(i);
          const listenPort = ports.get(i)!.listen;
          const addr =
            p.info.multiaddrs.find((a) => a.includes(`/tcp/${listenPort}`)) ?? p.info.multiaddrs[0]!;
          const daemon: MeshDaemon = {
            index: i,
            name,
            agent: `${name}-agent`,
            url: p.info.url,
            peerId: p.info.peerId,
            multiaddr: addr.includes('/p2p/') ? addr : `${addr}/p2p/${p.info.peerId}`,
            bootstrap: links[i]!,
            process: p,
            running: true,
          };
          daemons[i] = daemon;
          options.onStarted?.(daemons.filter(Boolean).length);
          return daemon;
        } finally {
          free();
        }
      })(),
    );
  }
  const results = await Promise.allSettled(started);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed !== undefined) {
    killAll();
    rmSync(dir, { recursive: true, force: true });
    throw failed.reason;
  }

  const stop = async (daemon: MeshDaemon, signal: 'SIGKILL' | 'SIGTERM'): Promise<void> => {
    daemon.running = false;
    daemon.process.child.kill(signal);
    await daemon.process.exited;
  };

  return {
    dir,
    daemons,
    stop,
    async restart(daemon) {
      if (daemon.running) throw new Error(`${daemon.name} is running; stop it first`);
      daemon.process = await launch(
        configOf(
          daemon.index,
          daemon.bootstrap.map((i) => daemons[i]!.multiaddr),
        ),
      );
      daemon.running = true;
    },
    async admit(daemon, allow) {
      const file = join(dir, `${daemon.name}.json`);
      const { allowList: _previous, ...config } = JSON.parse(readFileSync(file, 'utf8')) as Record<
        string,
        unknown
      >;
      writeFileSync(
        file,
        JSON.stringify(allow === undefined ? config : { ...config, allowList: allow.map((d) => d.peerId) }),
      );
      const res = await api<{ allowListChanged?: boolean }>(daemon.url, '/v1/admin/reload', { body: {} });
      if (res.status !== 200 || res.body.allowListChanged !== true)
        throw new Error(`${daemon.name}: reload answered ${res.status} ${JSON.stringify(res.body)}`);
    },
    async close() {
      await Promise.all(daemons.filter((d) => d.running).map((d) => stop(d, 'SIGKILL')));
      if (process.env['MESHWORK_SCALE_KEEP'] === undefined && existsSync(dir))
        rmSync(dir, { recursive: true, force: true });
    },
  };
}
