import type { Libp2p } from '@libp2p/interface';

export interface CatchUpOptions {
  /**
   * How long to wait for the bootstrap dials to settle and for a first connection, so that a node
   * that is alone (or whose peers are down) still gets going. Default 3 s.
   */
  readonly connectMs?: number;
  /** Upper bound on the whole catch-up, however many peers keep failing their rounds. Default 30 s. */
  readonly timeoutMs?: number;
}

export interface CatchUpReport {
  /** Peers a completed sync round brought this node up to date with. */
  readonly peers: readonly string[];
  /** True when `timeoutMs` ran out with connected peers not yet synced. */
  readonly timedOut: boolean;
  readonly durationMs: number;
}

/** What catching up needs from the node. */
export interface CatchUpContext {
  readonly libp2p: Libp2p;
  /** Settles when every bootstrap address has been dialled once (connected or failed). */
  readonly bootstrapDialled: () => Promise<void>;
  /** One sync round of every open Document with `peer`; rejects when the round fails. */
  readonly syncWith: (peer: string) => Promise<void>;
}

const RETRY_MS = 100;

/**
 * Brings a node that starts up to date with the peers it can reach: once the bootstrap dials have
 * settled (or `connectMs` passed), a sync round with every connected peer, repeated until every
 * peer connected by then has completed one. A round with a peer covers what it learnt from its
 * own peers, so in a connected mesh the node ends with everything acknowledged before it began.
 */
export async function catchUp(ctx: CatchUpContext, options: CatchUpOptions = {}): Promise<CatchUpReport> {
  const connectMs = options.connectMs ?? 3000;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const started = performance.now();
  const deadline = started + timeoutMs;
  const connected = (): string[] => ctx.libp2p.getPeers().map((p) => p.toString());

  const first = firstConnection(ctx.libp2p);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all([ctx.bootstrapDialled(), first.promise]),
    new Promise((resolve) => (timer = setTimeout(resolve, connectMs))),
  ]);
  clearTimeout(timer);
  first.cancel();

  const synced = new Set<string>();
  for (;;) {
    const todo = connected().filter((p) => !synced.has(p));
    if (todo.length === 0) break;
    if (performance.now() >= deadline)
      return { peers: [...synced], timedOut: true, durationMs: performance.now() - started };
    const failed = await Promise.all(
      todo.map((peer) =>
        ctx.syncWith(peer).then(
          () => void synced.add(peer),
          () => peer,
        ),
      ),
    );
    // A failed round (the peer busy or just leaving) is tried again while the peer stays connected.
    if (failed.some((p) => p !== undefined)) await new Promise((r) => setTimeout(r, RETRY_MS));
  }
  return { peers: [...synced], timedOut: false, durationMs: performance.now() - started };
}

/** Settles when a peer is connected (at once if one is). */
function firstConnection(libp2p: Libp2p): { promise: Promise<unknown>; cancel(): void } {
  let cancel = (): void => {};
  const promise = new Promise<void>((resolve) => {
    if (libp2p.getPeers().length > 0) return resolve();
    const onConnect = (): void => resolve();
    libp2p.addEventListener('peer:connect', onConnect, { once: true });
    cancel = () => libp2p.removeEventListener('peer:connect', onConnect);
  });
  return { promise, cancel };
}
