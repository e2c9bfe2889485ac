import type { Libp2p, PeerId } from '@libp2p/interface';
import type { Redialer } from './redial.ts';

/**
 * Opened by a node on a link it is about to close for having too many peers: the other side then
 * neither redials it nor picks it again for a while, where it would otherwise take a lost link
 * for a partition and restore it within a second.
 */
export const PRUNE_PROTOCOL = '/meshwork/prune/1';

export interface TopologyOptions {
  /** Below this many connected peers, the node dials peers it knows of, chosen at random. */
  readonly minPeers: number;
  /** Above this many, it closes links chosen at random among those older than `graceMs`. */
  readonly maxPeers: number;
  /** A link this young is never pruned: a newcomer needs it until it has found peers of its own. */
  readonly graceMs: number;
  /** A peer that failed a dial, or took part in a pruned link, is not chosen again for this long. */
  readonly cooldownMs: number;
  readonly isAdmitted: (peer: string) => boolean;
  /**
   * The links each member announced last (membership's `links()`). Pruning and growing read
   * other nodes' degrees from it so that a change does not travel on (see pruneOrder, dialOrder);
   * without it both choose at random.
   */
  readonly linksOf?: () => ReadonlyMap<string, readonly string[]>;
  /** Told of every pruned link: `self` when this node closed it, `peer` when the other side did. */
  readonly onPrune?: (peer: string, by: 'self' | 'peer') => void;
}

export interface Topology {
  /** A peer new to the peer store (from pubsub peer discovery or mDNS). */
  discovered(peer: PeerId): void;
  stop(): void;
}

/** Mean time between two checks of the degree (jittered ±50 %). */
const TICK_MS = 1000;
const NOTICE_TIMEOUT_MS = 2000;

function shuffle<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

/** A peer's announced degree; undefined when it announced none. */
export type DegreeOf = (peer: string) => number | undefined;

/**
 * Links to close, best-connected neighbours first (ties at random): a neighbour left with
 * `minPeers` or more has no reason to dial someone new, who might then prune in turn. Unknown
 * degrees come last.
 */
export function pruneOrder<P extends { toString(): string }>(peers: readonly P[], degreeOf: DegreeOf): P[] {
  const degree = (p: P): number => degreeOf(p.toString()) ?? -1;
  return shuffle([...peers]).sort((a, b) => degree(b) - degree(a));
}

/**
 * Peers to dial, those with room (fewer than `maxPeers` links, or unknown) first, at random
 * among each: a full peer would prune a link to make room, and its neighbour might dial in turn.
 */
export function dialOrder<P extends { toString(): string }>(
  peers: readonly P[],
  degreeOf: DegreeOf,
  maxPeers: number,
): P[] {
  const full = (p: P): number => ((degreeOf(p.toString()) ?? 0) >= maxPeers ? 1 : 0);
  return shuffle([...peers]).sort((a, b) => full(a) - full(b));
}

/**
 * Keeps this node's degree between `minPeers` and `maxPeers`: a random, bounded-degree mesh, which
 * stays connected with high probability, instead of a star around the bootstrap nodes. Dials go to
 * peers chosen at random among those the peer store knows (filled by discovery), those with room
 * first; surplus links are closed, bootstrap links included, best-connected neighbours first,
 * after telling the peer (`PRUNE_PROTOCOL`).
 */
export async function startTopology(
  libp2p: Libp2p,
  redialer: Redialer,
  o: TopologyOptions,
): Promise<Topology> {
  const self = libp2p.peerId.toString();
  const cooling = new Map<string, number>(); // peer → until (performance.now())
  let known = 0;
  let busy = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const cool = (peer: string): void => void cooling.set(peer, performance.now() + o.cooldownMs);
  const cold = (peer: string): boolean => {
    const until = cooling.get(peer);
    if (until === undefined) return false;
    if (until > performance.now()) return true;
    cooling.delete(peer);
    return false;
  };

  const degrees = (): DegreeOf => {
    const links = o.linksOf?.();
    return (peer) => links?.get(peer)?.length;
  };

  const dial = async (peer: PeerId): Promise<void> => {
    try {
      await libp2p.dial(peer);
    } catch {
      cool(peer.toString());
    }
  };

  const grow = async (need: number, connected: ReadonlySet<string>): Promise<void> => {
    const candidates = (await libp2p.peerStore.all()).filter((p) => {
      const id = p.id.toString();
      return id !== self && !connected.has(id) && p.addresses.length > 0 && o.isAdmitted(id) && !cold(id);
    });
    if (candidates.length < need) redialer.resumeBootstrap();
    await Promise.all(
      dialOrder(
        candidates.map((p) => p.id),
        degrees(),
        o.maxPeers,
      )
        .slice(0, need)
        .map(dial),
    );
  };

  const prune = async (peer: PeerId): Promise<void> => {
    const id = peer.toString();
    redialer.release(id);
    cool(id);
    o.onPrune?.(id, 'self');
    try {
      const connection = libp2p.getConnections(peer)[0];
      const stream = await connection?.newStream(PRUNE_PROTOCOL, {
        signal: AbortSignal.timeout(NOTICE_TIMEOUT_MS),
      });
      await stream?.close({ signal: AbortSignal.timeout(NOTICE_TIMEOUT_MS) });
    } catch {
      // Without the notice the peer redials; the link is young then, and another one goes instead.
    }
    await libp2p.hangUp(peer).catch(() => undefined);
  };

  const trim = async (excess: number): Promise<void> => {
    const now = Date.now();
    const old = new Map<string, PeerId>();
    for (const c of libp2p.getConnections()) {
      if (now - c.timeline.open >= o.graceMs) old.set(c.remotePeer.toString(), c.remotePeer);
    }
    await Promise.all(
      pruneOrder([...old.values()], degrees())
        .slice(0, excess)
        .map(prune),
    );
  };

  const tick = async (): Promise<void> => {
    if (stopped || busy) return;
    busy = true;
    try {
      const connected = new Set(libp2p.getPeers().map((p) => p.toString()));
      if (connected.size < o.minPeers) await grow(o.minPeers - connected.size, connected);
      else if (connected.size > o.maxPeers) await trim(connected.size - o.maxPeers);
    } catch {
      // The peer store or a hang-up failed while stopping; the next tick tries again.
    } finally {
      busy = false;
    }
  };

  const loop = (): void => {
    if (stopped) return;
    timer = setTimeout(() => void tick().finally(loop), TICK_MS * (0.5 + Math.random()));
  };

  await libp2p.handle(
    PRUNE_PROTOCOL,
    (stream, connection) => {
      const id = connection.remotePeer.toString();
      redialer.release(id);
      cool(id);
      o.onPrune?.(id, 'peer');
      stream.close().catch(() => undefined);
    },
    { maxInboundStreams: 1, maxOutboundStreams: 1 },
  );
  loop();

  return {
    discovered(peer) {
      known++;
      const id = peer.toString();
      if (stopped || id === self || !o.isAdmitted(id) || libp2p.getConnections(peer).length > 0) return;
      const degree = libp2p.getPeers().length;
      if (degree < o.minPeers) {
        void tick();
      } else if (degree < o.maxPeers && Math.random() < o.minPeers / known) {
        // A newcomer announces itself but hears others only as their announcements come round:
        // nodes with room link to it, about minPeers of them in all, whatever the mesh's size.
        void dial(peer);
      }
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
