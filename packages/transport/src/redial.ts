import type { Libp2p, PeerId } from '@libp2p/interface';
import type { Multiaddr } from '@multiformats/multiaddr';

export interface RedialOptions {
  /** First retry delay after a failed dial or a lost connection. */
  readonly baseMs: number;
  /** Retry delays double up to this. */
  readonly maxMs: number;
  /** Most peers remembered besides the bootstrap addresses. */
  readonly maxKnownPeers: number;
}

interface Target {
  readonly dialable: PeerId | Multiaddr;
  /** The peer behind the target, once a connection showed it. */
  peer: string | undefined;
  failures: number;
  timer: NodeJS.Timeout | undefined;
  readonly bootstrap: boolean;
  /** Resolved once the first dial has connected or failed. */
  readonly dialled: PromiseWithResolvers<void>;
}

export interface Redialer {
  /** Keeps a connection to `addr`, dialling it now and again with backoff whenever it is lost. */
  watchAddress(addr: Multiaddr): void;
  /** Keeps a connection to a peer met on the mesh (its addresses come from the peer store). */
  watchPeer(peer: PeerId): void;
  /** Settles when every bootstrap address has been dialled once, connected or not (or on stop). */
  bootstrapDialled(): Promise<void>;
  stop(): void;
}

/**
 * Our own redial loop: libp2p gives up reconnecting after about 30 s, but a
 * mesh node must rejoin its bootstrap and known peers however long they were
 * gone. Retries back off exponentially with jitter, up to `maxMs`.
 */
export function createRedialer(libp2p: Libp2p, o: RedialOptions): Redialer {
  const targets = new Map<string, Target>();
  let stopped = false;

  const connected = (t: Target): boolean =>
    t.peer !== undefined && libp2p.getConnections().some((c) => c.remotePeer.toString() === t.peer);

  const schedule = (t: Target, delayMs: number): void => {
    if (stopped || t.timer !== undefined) return;
    t.timer = setTimeout(() => {
      t.timer = undefined;
      void attempt(t);
    }, delayMs);
  };

  const backoff = (failures: number): number => {
    const ms = Math.min(o.maxMs, o.baseMs * 2 ** Math.min(failures, 30));
    return ms * (0.5 + Math.random());
  };

  const attempt = async (t: Target): Promise<void> => {
    if (stopped || connected(t)) return t.dialled.resolve();
    try {
      const connection = await libp2p.dial(t.dialable);
      t.peer = connection.remotePeer.toString();
      t.failures = 0;
    } catch {
      t.failures++;
      schedule(t, backoff(t.failures));
    }
    t.dialled.resolve();
  };

  const onDisconnect = (evt: CustomEvent<PeerId>): void => {
    const peer = evt.detail.toString();
    for (const t of targets.values()) {
      if (t.peer === peer) schedule(t, backoff(t.failures));
    }
  };
  libp2p.addEventListener('peer:disconnect', onDisconnect);

  const add = (key: string, t: Target): void => {
    if (stopped || targets.has(key)) return;
    targets.set(key, t);
    schedule(t, 0);
  };

  return {
    watchAddress(addr) {
      const peer = addr.getComponents().find((c) => c.name === 'p2p')?.value;
      add(addr.toString(), {
        dialable: addr,
        peer,
        failures: 0,
        timer: undefined,
        bootstrap: true,
        dialled: Promise.withResolvers(),
      });
    },
    watchPeer(peer) {
      const key = peer.toString();
      if ([...targets.values()].some((t) => t.peer === key)) return;
      if (targets.size >= o.maxKnownPeers) {
        // Make room by forgetting the known (not bootstrap) peer that failed most.
        const victim = [...targets]
          .filter(([, t]) => !t.bootstrap)
          .sort(([, a], [, b]) => b.failures - a.failures)[0];
        if (victim === undefined) return;
        clearTimeout(victim[1].timer);
        targets.delete(victim[0]);
      }
      add(key, {
        dialable: peer,
        peer: key,
        failures: 0,
        timer: undefined,
        bootstrap: false,
        dialled: Promise.withResolvers(),
      });
    },
    async bootstrapDialled() {
      const bootstrap = [...targets.values()].filter((t) => t.bootstrap);
      await Promise.all(bootstrap.map((t) => t.dialled.promise));
    },
    stop() {
      stopped = true;
      libp2p.removeEventListener('peer:disconnect', onDisconnect);
      for (const t of targets.values()) {
        clearTimeout(t.timer);
        t.dialled.resolve();
      }
      targets.clear();
    },
  };
}
