import type { Libp2p, PeerId } from '@libp2p/interface';
import type { Multiaddr } from '@multiformats/multiaddr';

export interface RedialOptions {
  /** First retry delay after a failed dial or a lost connection. */
  readonly baseMs: number;
  /** Retry delays double up to this. */
  readonly maxMs: number;
  /**
   * The cap instead of `maxMs` for a peer whose connection was lost less than
   * `reconnectWindowMs` ago, so that a peer back from a partition or a restart
   * is reached again within about this long.
   */
  readonly reconnectMaxMs: number;
  readonly reconnectWindowMs: number;
  /** Most peers remembered besides the bootstrap addresses. */
  readonly maxKnownPeers: number;
  /** Which lost links the node takes back (see `createRedialer`); without it, every one. */
  readonly need?: LinkNeed;
  /** Told of every retry scheduled, for metrics. */
  readonly onRetry?: (target: string, delayMs: number, reconnecting: boolean) => void;
}

/** What the redial loop asks before it takes a lost link back. */
export interface LinkNeed {
  /** Whether the node has fewer links than the topology's `minPeers`: it then takes every one back. */
  shortOfLinks(): boolean;
  /** Whether membership reaches `peer` through other links. */
  reachedOtherwise(peer: string): boolean;
}

interface Target {
  readonly key: string;
  readonly dialable: PeerId | Multiaddr;
  /** The peer behind the target, once a connection showed it. */
  peer: string | undefined;
  failures: number;
  /** When its connection was last lost (performance.now()); undefined if it never was. */
  lostAt: number | undefined;
  /** Released by the topology: not redialled until it connects again (or, for bootstrap, is resumed). */
  parked: boolean;
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
  /**
   * Stops redialling `peer`: the topology pruned the link, on this side or the other. A bootstrap
   * address is only parked, for {@link Redialer.resumeBootstrap}.
   */
  release(peer: string): void;
  /** Dials parked bootstrap addresses again: the node is short of peers it could dial otherwise. */
  resumeBootstrap(): void;
  /** Settles when every bootstrap address has been dialled once, connected or not (or on stop). */
  bootstrapDialled(): Promise<void>;
  stop(): void;
}

/**
 * Our own redial loop: libp2p gives up reconnecting after about 30 s, but a
 * mesh node must rejoin its bootstrap and known peers however long they were
 * gone. Retries back off exponentially with jitter, up to `maxMs`; for a peer
 * lost lately only up to `reconnectMaxMs`, so a healed partition reconnects
 * within about that long.
 *
 * A node with enough links takes back only the links it needs. A lost peer it still reaches
 * through others is not redialled: the topology would prune the link again. Peers it reaches no
 * other way, as those across a partition, are dialled one per `reconnectMaxMs`, whichever comes
 * round first: once a partition heals, the first link across brings each side the other's
 * records, the peers behind it are reached through it and need no link of their own. Taking every
 * lost link back at once made each of them a handshake, a record flood and a sync round, and the
 * topology then pruned the surplus (bench/RESULTS.md, _Links taken back one at a time_).
 */
export function createRedialer(libp2p: Libp2p, o: RedialOptions): Redialer {
  const targets = new Map<string, Target>();
  let stopped = false;
  /** When a peer reached no other way was last redialled by a node with enough links. */
  let lastUnreachedDialAt = -Infinity;

  const connected = (t: Target): boolean =>
    t.peer !== undefined && libp2p.getConnections().some((c) => c.remotePeer.toString() === t.peer);

  const schedule = (t: Target, delayMs: number): void => {
    if (stopped || t.parked || t.timer !== undefined) return;
    t.timer = setTimeout(() => {
      t.timer = undefined;
      void attempt(t);
    }, delayMs);
  };

  const reconnecting = (t: Target): boolean =>
    t.lostAt !== undefined && performance.now() - t.lostAt < o.reconnectWindowMs;

  const capOf = (t: Target): number => (reconnecting(t) ? Math.min(o.reconnectMaxMs, o.maxMs) : o.maxMs);
  /** Between half and all of `ms`, so that peers cut off together do not dial in step. */
  const jittered = (ms: number): number => ms * (0.5 + Math.random() / 2);

  const retry = (t: Target): void => {
    const delayMs = jittered(Math.min(capOf(t), o.baseMs * 2 ** Math.min(t.failures, 30)));
    o.onRetry?.(t.key, delayMs, reconnecting(t));
    schedule(t, delayMs);
  };

  /** Whether to take the link to lost `peer` back now (see above). */
  const wanted = (peer: string): boolean => {
    if (o.need === undefined || o.need.shortOfLinks()) return true;
    if (o.need.reachedOtherwise(peer)) return false;
    const now = performance.now();
    if (now - lastUnreachedDialAt < o.reconnectMaxMs) return false;
    lastUnreachedDialAt = now;
    return true;
  };

  const attempt = async (t: Target): Promise<void> => {
    if (stopped || t.parked || connected(t)) return t.dialled.resolve();
    // Not wanted now: looked at again within the cap, with no dial and no retry counted.
    if (t.lostAt !== undefined && t.peer !== undefined && !wanted(t.peer))
      return schedule(t, jittered(capOf(t)));
    try {
      const connection = await libp2p.dial(t.dialable);
      t.peer = connection.remotePeer.toString();
      t.failures = 0;
    } catch {
      t.failures++;
      retry(t);
    }
    t.dialled.resolve();
  };

  const onDisconnect = (evt: CustomEvent<PeerId>): void => {
    const peer = evt.detail.toString();
    for (const t of targets.values()) {
      if (t.peer !== peer || t.parked) continue;
      t.lostAt = performance.now();
      t.failures = 0;
      retry(t);
    }
  };
  libp2p.addEventListener('peer:disconnect', onDisconnect);

  const add = (t: Target): void => {
    if (stopped || targets.has(t.key)) return;
    targets.set(t.key, t);
    schedule(t, 0);
  };

  const target = (
    key: string,
    dialable: PeerId | Multiaddr,
    peer: string | undefined,
    bootstrap: boolean,
  ) => ({
    key,
    dialable,
    peer,
    failures: 0,
    lostAt: undefined,
    parked: false,
    timer: undefined,
    bootstrap,
    dialled: Promise.withResolvers<void>(),
  });

  return {
    watchAddress(addr) {
      const peer = addr.getComponents().find((c) => c.name === 'p2p')?.value;
      add(target(addr.toString(), addr, peer, true));
    },
    watchPeer(peer) {
      const key = peer.toString();
      const watched = [...targets.values()].filter((t) => t.peer === key);
      // Connected again: a parked target is kept from now on.
      for (const t of watched) t.parked = false;
      if (watched.length > 0) return;
      if (targets.size >= o.maxKnownPeers) {
        // Make room by forgetting the known (not bootstrap) peer that failed most.
        const victim = [...targets.values()]
          .filter((t) => !t.bootstrap)
          .sort((a, b) => b.failures - a.failures)[0];
        if (victim === undefined) return;
        clearTimeout(victim.timer);
        targets.delete(victim.key);
      }
      add(target(key, peer, key, false));
    },
    release(peer) {
      for (const t of [...targets.values()]) {
        if (t.peer !== peer) continue;
        clearTimeout(t.timer);
        t.timer = undefined;
        if (t.bootstrap) t.parked = true;
        else targets.delete(t.key);
      }
    },
    resumeBootstrap() {
      for (const t of targets.values()) {
        if (!t.bootstrap || !t.parked) continue;
        t.parked = false;
        schedule(t, 0);
      }
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
