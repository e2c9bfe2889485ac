import { createHash } from 'node:crypto';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { gossipsub, TopicValidatorResult, type GossipSub } from '@libp2p/gossipsub';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { identify } from '@libp2p/identify';
import type { Libp2p, PeerId, PrivateKey } from '@libp2p/interface';
import type { Identify } from '@libp2p/identify';
import type { Ping } from '@libp2p/ping';
import { mdns } from '@libp2p/mdns';
import { peerIdFromString } from '@libp2p/peer-id';
import { ping } from '@libp2p/ping';
import { pubsubPeerDiscovery } from '@libp2p/pubsub-peer-discovery';
import { tcp } from '@libp2p/tcp';
import type { Document, ReplicaId } from '@meshwork/core';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import { trace } from '@opentelemetry/api';
import { createLibp2p } from 'libp2p';
import { createAdmission } from './admission.ts';
import { createAntiEntropy } from './anti-entropy.ts';
import { catchUp, type CatchUpOptions, type CatchUpReport } from './catch-up.ts';
import { coreRuntime } from './core-runtime.ts';
import { documentTopic, startDocumentGossip, type DocumentGossip } from './document-gossip.ts';
import { createGossipEnvelope } from './gossip-envelope.ts';
import { ListenAddressInUseError, listenAddressInUse, MeshConfigError, MeshStoppedError } from './errors.ts';
import { loadOrCreateIdentity } from './identity.ts';
import { noiseCrypto } from './noise-crypto.ts';
import { createMeshShape } from './mesh-shape.ts';
import { createMeshMetrics, type MeshMetrics } from './metrics.ts';
import { allowList, resolveOptions, type MeshNodeOptions } from './options.ts';
import { startMeshMembership, type MeshMembership } from './membership.ts';
import { startPeerAnnouncer } from './peer-announcer.ts';
import { createRedialer } from './redial.ts';
import { isDocumentName, SYNC_PROTOCOL } from './sync-frames.ts';
import { runSyncRound } from './sync-round.ts';
import { startTopology } from './topology.ts';
import type { DocumentRuntime, SyncedDocument } from './synced-document.ts';

export type MeshLibp2p = Libp2p<{ identify: Identify; ping: Ping; pubsub: GossipSub }>;

/** Where nodes announce themselves (pubsub peer discovery): their public key and addresses. */
export const PEERS_TOPIC = 'meshwork/peers/1';
/** The longest delay a Node timer takes (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** An announcement is a key and a few addresses; anything larger is not one. */
const MAX_ANNOUNCEMENT_BYTES = 4096;

export interface MeshNode<Doc extends SyncedDocument = SyncedDocument> {
  readonly peerId: PeerId;
  /** This node's replica id: its peer id as a string. */
  readonly replica: ReplicaId;
  /** Addresses peers can dial, each ending in `/p2p/<peer id>`. */
  readonly multiaddrs: Multiaddr[];
  /** Who is in the mesh (see membership.ts); the coordinator's PresenceChannel. */
  readonly presence: MeshMembership;
  readonly metrics: MeshMetrics;
  /** The underlying libp2p node, for diagnostics and for protocols of your own beside Meshwork's. */
  readonly libp2p: MeshLibp2p;
  /** Opens (or returns the open) Document `name`, replica = this node, and syncs it. */
  document(name: string): Doc;
  /** Syncs a Document created elsewhere (e.g. restored from disk); its replica must be this node. */
  attach(doc: Doc): Doc;
  /** Stops syncing Document `name` (flushing batched events first); the Document itself stays usable. */
  detach(name: string): void;
  documents(): ReadonlyMap<string, Doc>;
  /** Connects to a peer and keeps that connection (redialled with backoff). */
  dial(addr: string | Multiaddr): Promise<void>;
  /** Runs one anti-entropy round with `peer` now; rejects if it fails. */
  sync(peer: string): Promise<void>;
  /**
   * Resolves once this node has caught up with the peers it can reach: the bootstrap dials
   * settled (or `connectMs` passed), then a completed sync round of the open Documents with every
   * connected peer. A node that restarts passes this to its coordinator before it claims.
   */
  catchUp(options?: CatchUpOptions): Promise<CatchUpReport>;
  /** Connected peers' ids. */
  peers(): string[];
  /** Refuses a peer from now on and closes its connections; `undeny` lifts it. */
  deny(peer: string): Promise<void>;
  undeny(peer: string): void;
  /**
   * Replaces the allow-list (`undefined`: no allow-list) and closes the connections of peers no
   * longer on it. Peers newly on it are dialled again by the redial loop, which keeps retrying
   * those it was connected to (at most `redial.reconnectMaxMs` apart for a peer lost lately).
   * Rejects with MeshConfigError, changing nothing, when a peer id is malformed.
   */
  setAllowList(peers: readonly string[] | undefined): Promise<void>;
  /** Publishes batched events, says goodbye on the presence topic, and shuts libp2p down. */
  stop(): Promise<void>;
}

/**
 * Starts a Meshwork node: libp2p over TCP with Noise, yamux, identify, ping
 * and gossipsub; eager gossip of every open Document's local events;
 * `/meshwork/sync/3` anti-entropy on every new subscription and periodically;
 * admission by pre-shared key and allow-list; and its own redial loop.
 */
export function createMeshNode(options?: MeshNodeOptions<Document>): Promise<MeshNode<Document>>;
export function createMeshNode<Doc extends SyncedDocument>(
  options: MeshNodeOptions<Doc> & { runtime: DocumentRuntime<Doc> },
): Promise<MeshNode<Doc>>;
export async function createMeshNode(options: MeshNodeOptions = {}): Promise<MeshNode> {
  const o = resolveOptions(options);
  const runtime: DocumentRuntime = options.runtime ?? coreRuntime;
  const limits = o.limits;
  const metrics = createMeshMetrics();
  const privateKey: PrivateKey =
    options.privateKey ??
    (options.keyFile !== undefined
      ? await loadOrCreateIdentity(options.keyFile)
      : await generateKeyPair('Ed25519'));
  const admission = createAdmission({
    allow: o.allow,
    psk: options.psk,
    metrics,
    logger: options.logger,
    logIntervalMs: o.refusalLogIntervalMs,
  });

  const libp2p = await createLibp2p({
    privateKey,
    addresses: { listen: o.listen },
    transports: [tcp()],
    connectionEncrypters: [noise({ crypto: noiseCrypto() })],
    streamMuxers: [yamux()],
    ...(admission.protector !== undefined ? { connectionProtector: admission.protector } : {}),
    connectionGater: admission.gater,
    // Membership heartbeats every link and closes a silent one; libp2p's monitor would open a
    // ping stream per connection every 10 s and abort on a 5 s timeout, which a stalled (not dead)
    // peer misses.
    connectionMonitor: { enabled: false },
    connectionManager: {
      maxConnections: limits.maxConnections,
      inboundConnectionThreshold: limits.inboundConnectionThreshold,
      maxIncomingPendingConnections: limits.maxIncomingPendingConnections,
    },
    peerDiscovery: [
      // Its receiving side only: this node's own announcements back off (peer-announcer.ts). Not
      // `listenOnly`, which (12.0.0) ignores every message; its own timer is set never to fire.
      ...(o.announceMs > 0 ? [pubsubPeerDiscovery({ topics: [PEERS_TOPIC], interval: MAX_TIMER_MS })] : []),
      ...(options.mdns === true ? [mdns()] : []),
    ],
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub({
        // Messages are signed inside their payload (see gossip-envelope.ts).
        globalSignaturePolicy: 'StrictNoSign',
        allowPublishToZeroTopicPeers: true,
        ignoreDuplicatePublishError: true,
        emitSelf: false,
        // A node sends what it publishes to every subscribed peer, not only its mesh: in a full
        // mesh every node then has each message from its author, and nobody forwards (mesh-shape.ts).
        floodPublish: true,
        heartbeatInterval: o.gossipHeartbeatMs,
        // Gossipsub scores down peers that share an IP beyond 10 of them, which graylists every
        // peer of a node with more than 14 on one host (daemons on one machine, or behind one NAT):
        // their messages and subscriptions are then ignored. Admission is our trust boundary.
        scoreParams: { IPColocationFactorWeight: 0 },
        msgIdFn: (msg) => {
          const id = createHash('sha256').update(msg.data);
          // An announcement repeats the same bytes, at least announceMs apart, and gossipsub drops
          // a message it saw in the last 2 minutes: newcomers would not hear established peers.
          if (msg.topic === PEERS_TOPIC) id.update(String(Math.floor(Date.now() / o.announceMs)));
          return new Uint8Array(id.digest());
        },
        maxInboundDataLength: limits.maxGossipBytes + 64 * 1024,
        // No IDONTWANT: a peer forwards a message as soon as it has validated it, in the same turn
        // of its event loop, so an IDONTWANT rarely arrives in time to stop a duplicate; meanwhile
        // each received message cost one more RPC to every mesh peer (see README).
        idontwantMinDataSize: Number.MAX_SAFE_INTEGER,
      }),
    },
  }).catch((err: unknown) => {
    const inUse = listenAddressInUse(err);
    if (inUse !== undefined) throw new ListenAddressInUseError(inUse, { cause: err });
    throw new MeshConfigError('libp2p', err instanceof Error ? err.message : String(err));
  });
  const pubsub: GossipSub = libp2p.services.pubsub;
  const replica = libp2p.peerId.toString();

  const documents = new Map<string, SyncedDocument>();
  const gossip = new Map<string, DocumentGossip>();
  const ctx = {
    runtime,
    documents,
    metrics,
    maxFrameBytes: limits.maxFrameBytes,
    maxBufferBytes: limits.maxStreamBufferBytes,
    roundTimeoutMs: limits.roundTimeoutMs,
    snapshotMinEvents: limits.snapshotMinEvents,
    tracer: (options.tracerProvider ?? trace.getTracerProvider()).getTracer('@meshwork/transport'),
  };
  const antiEntropy = createAntiEntropy(
    libp2p,
    (stream, peer, initiator) => runSyncRound(stream, ctx, peer, initiator),
    {
      intervalMs: o.syncIntervalMs,
      maxConcurrentRounds: limits.maxConcurrentRounds,
      roundTimeoutMs: limits.roundTimeoutMs,
    },
  );
  const envelope = createGossipEnvelope(libp2p.peerId, privateKey);
  const shape = createMeshShape({
    self: replica,
    connected: () => libp2p.getPeers().map((p) => p.toString()),
    members: () => presence.liveLinks(),
  });
  const presence = await startMeshMembership(libp2p, envelope, metrics, {
    probeIntervalMs: o.membership.probeIntervalMs,
    maxFrameBytes: limits.maxMembershipFrameBytes,
    maxMembers: limits.maxMembers,
    ...(options.logger !== undefined ? { logger: options.logger } : {}),
  });
  const shortOfLinks = (): boolean => libp2p.getPeers().length < o.minPeers;
  const redialer = createRedialer(libp2p, {
    baseMs: o.redialBaseMs,
    maxMs: o.redialMaxMs,
    reconnectMaxMs: o.reconnectMaxMs,
    reconnectWindowMs: o.reconnectWindowMs,
    maxKnownPeers: limits.maxKnownPeers,
    need: {
      shortOfLinks,
      reachedOtherwise: (peer) => presence.status(peer) === 'alive',
    },
    onRetry: (target, delayMs, reconnecting) =>
      metrics.record({ type: 'redial', target, delayMs, reconnecting }),
  });
  const topology = await startTopology(libp2p, redialer, {
    minPeers: o.minPeers,
    maxPeers: o.maxPeers,
    graceMs: o.graceMs,
    cooldownMs: Math.max(o.redialMaxMs, o.graceMs),
    isAdmitted: (peer) => admission.isAdmitted(peer),
    linksOf: () => presence.links(),
    onPrune: (peer, by) => metrics.record({ type: 'pruned', peer, by }),
  });
  // Announcements are unsigned like all our gossip; Noise still authenticates every dial they lead to.
  pubsub.topicValidators.set(PEERS_TOPIC, (_from, msg) =>
    msg.data.byteLength <= MAX_ANNOUNCEMENT_BYTES ? TopicValidatorResult.Accept : TopicValidatorResult.Reject,
  );
  let stopped = false;

  await libp2p.handle(
    SYNC_PROTOCOL,
    (stream, connection) => {
      antiEntropy.respond(stream, connection.remotePeer.toString()).catch(() => undefined);
    },
    { maxInboundStreams: limits.maxInboundSyncStreams, maxOutboundStreams: limits.maxConcurrentRounds },
  );

  const docTopics = new Set<string>();
  pubsub.addEventListener('subscription-change', (evt) => {
    // A peer now listens to a Document we have: anything gossiped before it
    // subscribed missed it, so a round follows. Both sides see this; the one
    // with the lower id starts at once, and the other's later request is
    // dropped when that round covers it.
    const joined = evt.detail.subscriptions.some((s) => s.subscribe && docTopics.has(s.topic));
    const peer = evt.detail.peerId.toString();
    if (joined) antiEntropy.request(peer, replica < peer ? 0 : 100 + Math.random() * 100);
  });
  const announcer =
    o.announceMs > 0
      ? startPeerAnnouncer(libp2p, {
          topic: PEERS_TOPIC,
          baseMs: o.announceMs,
          maxMs: o.announceMaxMs,
          shortOfLinks,
        })
      : undefined;
  const linksChanged = (): void => {
    metrics.record({ type: 'peers', connected: libp2p.getPeers().length });
    announcer?.linksChanged();
  };
  libp2p.addEventListener('peer:connect', (evt) => {
    linksChanged();
    redialer.watchPeer(evt.detail);
  });
  libp2p.addEventListener('peer:disconnect', linksChanged);
  libp2p.addEventListener('peer:discovery', (evt) => topology.discovered(evt.detail.id));

  for (const addr of o.bootstrap) redialer.watchAddress(addr);

  const syncWithAllPeers = (): void => {
    for (const peer of libp2p.getPeers()) antiEntropy.request(peer.toString());
  };

  const live = (what: string): void => {
    if (stopped) throw new MeshStoppedError(what);
  };

  const attach = (doc: SyncedDocument): SyncedDocument => {
    live('attach');
    if (!isDocumentName(doc.name)) {
      throw new MeshConfigError(
        'document',
        `name ${JSON.stringify(doc.name)}: 1–128 characters of [A-Za-z0-9._:/-]`,
      );
    }
    if (doc.replica !== replica) {
      throw new MeshConfigError('document', `${doc.name} belongs to replica ${doc.replica}, not ${replica}`);
    }
    const open = documents.get(doc.name);
    if (open !== undefined) {
      if (open === doc) return doc;
      throw new MeshConfigError('document', `another Document named ${doc.name} is already open`);
    }
    documents.set(doc.name, doc);
    docTopics.add(documentTopic(doc.name));
    gossip.set(
      doc.name,
      startDocumentGossip(doc, {
        pubsub,
        envelope,
        runtime,
        metrics,
        maxMessageBytes: limits.maxGossipBytes,
        batchMs: o.batchMs,
        batchMaxBytes: Math.min(o.batchMaxBytes, limits.maxGossipBytes),
        onDeferred: syncWithAllPeers,
        fullMesh: () => shape.full(),
      }),
    );
    syncWithAllPeers();
    return doc;
  };

  return {
    peerId: libp2p.peerId,
    replica,
    get multiaddrs() {
      return libp2p.getMultiaddrs();
    },
    presence,
    metrics,
    libp2p,
    document(name) {
      live('document');
      return documents.get(name) ?? attach(runtime.create({ name, replica }));
    },
    attach,
    detach(name) {
      gossip.get(name)?.close();
      gossip.delete(name);
      docTopics.delete(documentTopic(name));
      documents.delete(name);
    },
    documents: () => documents,
    async dial(addr) {
      live('dial');
      const ma = typeof addr === 'string' ? multiaddr(addr) : addr;
      await libp2p.dial(ma);
      redialer.watchAddress(ma);
    },
    sync(peer) {
      live('sync');
      return antiEntropy.syncWith(peer);
    },
    catchUp(catchUpOptions) {
      live('catchUp');
      return catchUp(
        {
          libp2p,
          bootstrapDialled: () => redialer.bootstrapDialled(),
          syncWith: (peer) => (stopped ? Promise.resolve() : antiEntropy.syncWith(peer)),
        },
        catchUpOptions,
      );
    },
    peers: () => libp2p.getPeers().map((p) => p.toString()),
    async deny(peer) {
      admission.deny(peer);
      await libp2p.hangUp(peerIdFromString(peer));
    },
    undeny: (peer) => admission.undeny(peer),
    async setAllowList(peers) {
      live('setAllowList');
      admission.setAllowList(allowList(peers));
      const refused = libp2p.getPeers().filter((p) => !admission.isAdmitted(p.toString()));
      await Promise.all(refused.map((p) => libp2p.hangUp(p)));
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const g of gossip.values()) g.close();
      gossip.clear();
      announcer?.stop();
      await presence.close();
      antiEntropy.stop();
      topology.stop();
      redialer.stop();
      await libp2p.stop();
      admission.close();
    },
  };
}
