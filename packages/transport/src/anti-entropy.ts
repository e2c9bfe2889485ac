import type { Libp2p, PeerId, Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { SYNC_PROTOCOL } from './sync-frames.ts';

/** Runs one round over `stream` (`runSyncRound` with the node's context). */
export type SyncRoundRunner = (
  stream: Stream,
  peer: string,
  initiator: boolean,
) => Promise<{ eventsApplied: number }>;

export interface AntiEntropyOptions {
  /** Mean time between periodic rounds (each with one random peer); 0 turns them off. */
  readonly intervalMs: number;
  /** Most rounds this node initiates at once. */
  readonly maxConcurrentRounds: number;
  /** Longest a round's stream takes to open. */
  readonly roundTimeoutMs: number;
}

/**
 * A round this node opened that failed (a timeout under load, a reset stream) is opened again
 * while the peer stays connected, after a delay that doubles from the first to the last; a
 * reconnection starts its own round instead. Jittered so that peers that failed together do
 * not retry together.
 */
export const ROUND_RETRY_FIRST_MS = 500;
export const ROUND_RETRY_MAX_MS = 30_000;

/** Requests for rounds with one peer not yet served, coalesced. */
interface PendingRequest {
  /** When the newest of them was made: a round started after it serves them all. */
  since: number;
  /** When the soonest of them is due. */
  due: number;
  /** Set while waiting for `due`; unset once queued. */
  timer?: NodeJS.Timeout;
}

export interface AntiEntropy {
  /**
   * Asks for a round with `peer` soon. Requests coalesce: those outstanding together are served
   * by one round, at the soonest one's time, and are skipped when a round with that peer (in
   * either direction) started after the newest of them was made.
   */
  request(peer: string, delayMs?: number): void;
  /** Runs a round with `peer` now and waits for it. Rejects when the round fails. */
  syncWith(peer: string): Promise<void>;
  /** Answers a round a peer opened. */
  respond(stream: Stream, peer: string): Promise<void>;
  stop(): void;
}

/**
 * Schedules `/meshwork/sync/3` rounds: on request (new connections, new
 * subscriptions, Documents opened), and periodically with jitter so that
 * anything gossip lost — a partition outlasting its message cache — heals.
 */
export function createAntiEntropy(
  libp2p: Libp2p,
  runRound: SyncRoundRunner,
  o: AntiEntropyOptions,
): AntiEntropy {
  const lastStarted = new Map<string, number>();
  const failures = new Map<string, number>(); // peer → rounds it failed in a row
  const pending = new Map<string, PendingRequest>();
  const waiting: string[] = [];
  let running = 0;
  let stopped = false;
  let periodic: NodeJS.Timeout | undefined;

  /**
   * Events a round brought in reached only this node: gossip carries each
   * event from its origin alone. So the node passes them on by asking its
   * other peers for rounds, hop by hop, until rounds bring nothing new.
   */
  const spread = (from: string, eventsApplied: number): void => {
    if (eventsApplied === 0) return;
    for (const p of libp2p.getPeers()) {
      const peer = p.toString();
      if (peer !== from) request(peer, 10);
    }
  };

  const dialRound = async (peer: string): Promise<void> => {
    lastStarted.set(peer, performance.now());
    const id: PeerId = peerIdFromString(peer);
    const stream = await libp2p.dialProtocol(id, SYNC_PROTOCOL, {
      signal: AbortSignal.timeout(o.roundTimeoutMs),
    });
    const { eventsApplied } = await runRound(stream, peer, true);
    failures.delete(peer);
    spread(peer, eventsApplied);
  };

  const isConnected = (peer: string): boolean =>
    libp2p.getConnections().some((c) => c.remotePeer.toString() === peer);

  const retry = (peer: string): void => {
    if (stopped || !isConnected(peer)) return;
    const n = (failures.get(peer) ?? 0) + 1;
    failures.set(peer, n);
    const delayMs = Math.min(ROUND_RETRY_FIRST_MS * 2 ** (n - 1), ROUND_RETRY_MAX_MS);
    request(peer, delayMs * (0.75 + Math.random() / 2));
  };

  const pump = (): void => {
    while (!stopped && running < o.maxConcurrentRounds && waiting.length > 0) {
      const peer = waiting.shift() as string;
      const since = pending.get(peer)?.since ?? 0;
      pending.delete(peer);
      if ((lastStarted.get(peer) ?? -1) > since) continue;
      if (!isConnected(peer)) continue;
      running++;
      dialRound(peer)
        .catch(() => retry(peer)) // the round counted the failure
        .finally(() => {
          running--;
          pump();
        });
    }
  };

  const request = (peer: string, delayMs = 0): void => {
    if (stopped) return;
    const now = performance.now();
    const due = now + delayMs;
    const outstanding = pending.get(peer);
    if (outstanding !== undefined) {
      // A round that started before this request cannot carry what it was made for (a Document
      // just opened, events just applied): only a later round may stand in for it.
      outstanding.since = now;
      // Already queued, or due sooner: that round serves both.
      if (outstanding.timer === undefined || outstanding.due <= due) return;
      clearTimeout(outstanding.timer);
    }
    const entry = outstanding ?? { since: now, due };
    entry.due = due;
    pending.set(peer, entry);
    const enqueue = (): void => {
      entry.timer = undefined;
      waiting.push(peer);
      pump();
    };
    if (delayMs > 0) entry.timer = setTimeout(enqueue, delayMs);
    else enqueue();
  };

  const schedulePeriodic = (): void => {
    if (stopped || o.intervalMs <= 0) return;
    periodic = setTimeout(
      () => {
        const peers = libp2p.getPeers();
        const peer = peers[Math.floor(Math.random() * peers.length)];
        if (peer !== undefined) request(peer.toString());
        schedulePeriodic();
      },
      o.intervalMs * (0.5 + Math.random()),
    );
  };
  schedulePeriodic();
  const forget = (evt: CustomEvent<PeerId>): void => {
    lastStarted.delete(evt.detail.toString());
    failures.delete(evt.detail.toString());
  };
  libp2p.addEventListener('peer:disconnect', forget);

  return {
    request,
    syncWith: dialRound,
    async respond(stream, peer) {
      lastStarted.set(peer, performance.now());
      const { eventsApplied } = await runRound(stream, peer, false);
      spread(peer, eventsApplied);
    },
    stop() {
      stopped = true;
      clearTimeout(periodic);
      libp2p.removeEventListener('peer:disconnect', forget);
      waiting.length = 0;
      for (const entry of pending.values()) clearTimeout(entry.timer);
      pending.clear();
    },
  };
}
