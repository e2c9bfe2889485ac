import type { PrivateKey } from '@libp2p/interface';
import type { TracerProvider } from '@opentelemetry/api';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import { peerIdFromString } from '@libp2p/peer-id';
import { MeshConfigError } from './errors.ts';
import type { MeshLogger } from './refusal-log.ts';
import type { DocumentRuntime, SyncedDocument } from './synced-document.ts';

/** Caps that bound what a peer can make this node hold or do. */
export interface MeshLimits {
  /** Largest `/meshwork/sync/3` frame sent or accepted; bigger catch-ups go as snapshot chunks. */
  maxFrameBytes: number;
  /** Bytes a sync stream buffers before they are read (≥ maxFrameBytes). */
  maxStreamBufferBytes: number;
  /** Largest gossip message published or accepted; bigger local batches go by anti-entropy. */
  maxGossipBytes: number;
  /** Largest membership frame (heartbeat, or member records: a node's state is one of them). */
  maxMembershipFrameBytes: number;
  /** Sync streams a peer may have open to this node at once, per connection. */
  maxInboundSyncStreams: number;
  /** Sync rounds this node initiates at once. */
  maxConcurrentRounds: number;
  /** A sync round that takes longer is aborted. */
  roundTimeoutMs: number;
  /**
   * A peer that lacks at least this many events, and at least a quarter of a
   * Document's events, is sent a snapshot instead: cheaper to build and apply.
   */
  snapshotMinEvents: number;
  /** Open connections; the connection manager prunes beyond it. */
  maxConnections: number;
  /** Inbound connections accepted per second per host. */
  inboundConnectionThreshold: number;
  /** Inbound connections in their handshake at once. */
  maxIncomingPendingConnections: number;
  /** Peers the redial loop remembers besides bootstrap addresses. */
  maxKnownPeers: number;
  /** Most nodes the membership table tracks; records of more are refused. */
  maxMembers: number;
}

export const defaultLimits: Readonly<MeshLimits> = Object.freeze({
  maxFrameBytes: 4 * 1024 * 1024,
  maxStreamBufferBytes: 8 * 1024 * 1024,
  maxGossipBytes: 512 * 1024,
  maxMembershipFrameBytes: 1024 * 1024,
  maxInboundSyncStreams: 2,
  maxConcurrentRounds: 4,
  roundTimeoutMs: 60_000,
  snapshotMinEvents: 64,
  maxConnections: 300,
  // libp2p's defaults (5/s, 10 pending) reset connections when many local peers start together.
  inboundConnectionThreshold: 1000,
  maxIncomingPendingConnections: 256,
  maxKnownPeers: 256,
  maxMembers: 10_000,
});

export interface MeshNodeOptions<Doc extends SyncedDocument = SyncedDocument> {
  /** Listen multiaddrs; default `/ip4/127.0.0.1/tcp/0`. */
  listen?: string[];
  /** Peers to connect to and keep connected to (redialled with backoff). */
  bootstrap?: (string | Multiaddr)[];
  /** Ed25519 identity file, created when missing. Without it (and `privateKey`) the identity is ephemeral. */
  keyFile?: string;
  /** The identity itself; overrides `keyFile`. */
  privateKey?: PrivateKey;
  /** Private network: a libp2p swarm key (`/key/swarm/psk/1.0.0/` file contents); see `createSwarmKey`. */
  psk?: Uint8Array;
  /** Only these peer ids may connect, checked after the Noise handshake authenticated them. */
  allow?: string[];
  /** Discover peers on the local network with mDNS. */
  mdns?: boolean;
  limits?: Partial<MeshLimits>;
  /** Mean time between periodic anti-entropy rounds (jittered ±50 %); 0 turns them off. Default 15 s. */
  syncIntervalMs?: number;
  /**
   * Least time between two gossip messages of a Document. The first local event after a quiet
   * spell is published at once; under load, events are batched into one message per `batchMs`.
   * Default 5 ms.
   */
  batchMs?: number;
  /** A batch is published as soon as it holds this many bytes. Default 64 KiB. */
  batchMaxBytes?: number;
  /**
   * Redial backoff: first delay and cap (default 500 ms and 30 s). A peer whose connection was lost
   * less than `reconnectWindowMs` ago (default 5 min) is retried at most `reconnectMaxMs` apart
   * (default 1 s), so it is back within about a second of being reachable again.
   */
  redial?: { baseMs?: number; maxMs?: number; reconnectMaxMs?: number; reconnectWindowMs?: number };
  /**
   * The mesh's shape. Each node keeps between `minPeers` (default 6) and `maxPeers` (default 10)
   * connected peers, chosen at random among those it knows of. Peers announce themselves over
   * gossipsub (pubsub peer discovery) every `announceMs` (default 20 s; 0 turns discovery off)
   * while they have fewer than `minPeers` and their links change; otherwise, once a node's links
   * stayed the same from one announcement to the next, every `announceMaxMs` (default 160 s, or
   * `announceMs` if longer). A link
   * younger than `graceMs` (default 60 s) is never pruned.
   */
  topology?: {
    minPeers?: number;
    maxPeers?: number;
    announceMs?: number;
    announceMaxMs?: number;
    graceMs?: number;
  };
  /** Gossipsub heartbeat; its message cache holds 5 heartbeats of messages. Default 1000 ms. */
  gossipHeartbeatMs?: number;
  /**
   * Failure detection: a heartbeat on each link every `probeIntervalMs` (default 1,000 ms: a
   * daemon's idle cost is mostly these frames), judged by phi-accrual every half of it, allowing
   * for stalls of either end. A node is live while a path of live links leads to it; a link silent
   * for 10 s is closed.
   */
  membership?: { probeIntervalMs?: number };
  /**
   * Where refused connections and links closed for silence are logged (a pino logger fits);
   * without it they are only counted.
   */
  logger?: MeshLogger;
  /** Refused connections are logged at most once per reason per interval. Default 60 s. */
  refusalLogIntervalMs?: number;
  /** How Documents are created and their messages handled. Default: @meshwork/core. */
  runtime?: DocumentRuntime<Doc>;
  /**
   * Where `meshwork.sync.round` spans go. Default: the global provider of `@opentelemetry/api`,
   * which records nothing until an SDK is registered.
   */
  tracerProvider?: TracerProvider;
}

export interface ResolvedOptions {
  listen: string[];
  bootstrap: Multiaddr[];
  allow: Set<string> | undefined;
  limits: MeshLimits;
  syncIntervalMs: number;
  batchMs: number;
  batchMaxBytes: number;
  redialBaseMs: number;
  redialMaxMs: number;
  reconnectMaxMs: number;
  reconnectWindowMs: number;
  minPeers: number;
  maxPeers: number;
  announceMs: number;
  announceMaxMs: number;
  graceMs: number;
  gossipHeartbeatMs: number;
  refusalLogIntervalMs: number;
  membership: { probeIntervalMs: number };
}

/** Checks every option, naming the first bad one in a {@link MeshConfigError}. */
/** An allow-list as given (an array of peer ids, or undefined for none), checked. */
export function allowList(allow: unknown): Set<string> | undefined {
  if (allow === undefined) return undefined;
  if (!Array.isArray(allow)) throw new MeshConfigError('allow', 'must be an array of peer ids');
  allow.forEach((id: unknown, i) => {
    if (typeof id !== 'string') throw new MeshConfigError(`allow[${i}]`, 'must be a peer id string');
    try {
      peerIdFromString(id);
    } catch {
      throw new MeshConfigError(`allow[${i}]`, `"${id}" is not a peer id`);
    }
  });
  return new Set(allow as string[]);
}

export function resolveOptions(o: MeshNodeOptions<SyncedDocument>): ResolvedOptions {
  const listen = o.listen ?? ['/ip4/127.0.0.1/tcp/0'];
  listen.forEach((a, i) => parseAddr(a, `listen[${i}]`));
  const bootstrap = (o.bootstrap ?? []).map((a, i) =>
    typeof a === 'string' ? parseAddr(a, `bootstrap[${i}]`) : a,
  );
  if (o.psk !== undefined && !(o.psk instanceof Uint8Array))
    throw new MeshConfigError('psk', 'must be the swarm key bytes');
  const limits: MeshLimits = { ...defaultLimits, ...o.limits };
  for (const [k, v] of Object.entries(limits)) positive(v, `limits.${k}`);
  if (limits.maxStreamBufferBytes < limits.maxFrameBytes) {
    throw new MeshConfigError('limits.maxStreamBufferBytes', 'must be at least limits.maxFrameBytes');
  }
  if (limits.maxFrameBytes < 4096) throw new MeshConfigError('limits.maxFrameBytes', 'must be at least 4096');
  const r = {
    listen,
    bootstrap,
    allow: allowList(o.allow),
    limits,
    syncIntervalMs: o.syncIntervalMs ?? 15_000,
    batchMs: o.batchMs ?? 5,
    batchMaxBytes: o.batchMaxBytes ?? 64 * 1024,
    redialBaseMs: o.redial?.baseMs ?? 500,
    redialMaxMs: o.redial?.maxMs ?? 30_000,
    reconnectMaxMs: o.redial?.reconnectMaxMs ?? 1000,
    reconnectWindowMs: o.redial?.reconnectWindowMs ?? 300_000,
    minPeers: o.topology?.minPeers ?? 6,
    maxPeers: o.topology?.maxPeers ?? 10,
    announceMs: o.topology?.announceMs ?? 20_000,
    announceMaxMs: o.topology?.announceMaxMs ?? Math.max(160_000, o.topology?.announceMs ?? 0),
    graceMs: o.topology?.graceMs ?? 60_000,
    gossipHeartbeatMs: o.gossipHeartbeatMs ?? 1000,
    membership: { probeIntervalMs: o.membership?.probeIntervalMs ?? 1000 },
    refusalLogIntervalMs: o.refusalLogIntervalMs ?? 60_000,
  };
  nonNegative(r.syncIntervalMs, 'syncIntervalMs');
  nonNegative(r.batchMs, 'batchMs');
  positive(r.batchMaxBytes, 'batchMaxBytes');
  positive(r.redialBaseMs, 'redial.baseMs');
  positive(r.redialMaxMs, 'redial.maxMs');
  positive(r.reconnectMaxMs, 'redial.reconnectMaxMs');
  nonNegative(r.reconnectWindowMs, 'redial.reconnectWindowMs');
  positiveInteger(r.minPeers, 'topology.minPeers');
  positiveInteger(r.maxPeers, 'topology.maxPeers');
  if (r.maxPeers < r.minPeers)
    throw new MeshConfigError('topology.maxPeers', 'must be at least topology.minPeers');
  if (r.maxPeers > limits.maxConnections)
    throw new MeshConfigError('topology.maxPeers', 'must be at most limits.maxConnections');
  nonNegative(r.announceMs, 'topology.announceMs');
  positive(r.announceMaxMs, 'topology.announceMaxMs');
  if (r.announceMaxMs < r.announceMs)
    throw new MeshConfigError('topology.announceMaxMs', 'must be at least topology.announceMs');
  nonNegative(r.graceMs, 'topology.graceMs');
  positive(r.gossipHeartbeatMs, 'gossipHeartbeatMs');
  positive(r.refusalLogIntervalMs, 'refusalLogIntervalMs');
  if (o.logger !== undefined && typeof o.logger.warn !== 'function')
    throw new MeshConfigError('logger', 'must have a warn(fields, message) method');
  return r;
}

function parseAddr(a: string, field: string): Multiaddr {
  try {
    return multiaddr(a);
  } catch (err) {
    throw new MeshConfigError(field, `not a multiaddr: ${String(err)}`);
  }
}

function positive(v: unknown, field: string): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)
    throw new MeshConfigError(field, 'must be a positive number');
}

function positiveInteger(v: unknown, field: string): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0)
    throw new MeshConfigError(field, 'must be a positive integer');
}

function nonNegative(v: unknown, field: string): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
    throw new MeshConfigError(field, 'must be a number ≥ 0');
}
