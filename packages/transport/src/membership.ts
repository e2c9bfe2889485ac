import {
  createMembership,
  Emitter,
  type Membership,
  type PresenceChannel,
  type PresenceEvents,
  type PresenceState,
  type ReplicaId,
} from '@meshwork/core';
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { lpStream, type LengthPrefixedStream } from '@libp2p/utils';
import type { GossipEnvelope } from './gossip-envelope.ts';
import type { MeshMetricsRecorder } from './metrics.ts';
import type { MeshLogger } from './refusal-log.ts';

/** One stream each way per link carries heartbeats and member records (see core's membership). */
export const MEMBERSHIP_PROTOCOL = '/meshwork/members/4';
/** Domain of the signatures on records; records are as they were in `/meshwork/members/2`. */
const CLAIM_TOPIC = 'meshwork/members/2';
/** Frames queued on one link past which heartbeats are dropped (records still go). */
const MAX_QUEUED_FRAMES = 64;

export interface MeshMembershipOptions {
  readonly probeIntervalMs: number;
  readonly maxFrameBytes: number;
  readonly maxMembers: number;
  /** Told of every link closed for silence, which is worth an operator's notice. */
  readonly logger?: MeshLogger;
}

/**
 * The mesh's membership as the coordinator sees it (a {@link PresenceChannel}), plus the state
 * of every member and what each announced of its links.
 */
export interface MeshMembership extends PresenceChannel {
  /** Every member's last announced state (alive or suspected). */
  peers(): ReadonlyMap<ReplicaId, PresenceState>;
  /** The links each live member other than this node announced last (see mesh-shape.ts). */
  liveLinks(): ReadonlyMap<ReplicaId, readonly ReplicaId[]>;
  /**
   * Every member's links (the neighbours it hears heartbeats from), as it announced them last;
   * this node's own are its live links now. Members that left have none.
   */
  links(): ReadonlyMap<ReplicaId, readonly ReplicaId[]>;
  /** How late this node's event loop ran, at most, over the last 10 s (core's `Membership.lagMs`). */
  lagMs(): number;
  /** Announces that this node leaves, then stops. */
  close(): Promise<void>;
}

interface Link {
  readonly stream: Stream;
  readonly lp: LengthPrefixedStream<Stream>;
  queued: number;
}

/** A stream's protocol, direction, state and buffered bytes, for a log line. */
const streamState = (s: Stream) => ({
  protocol: s.protocol,
  direction: s.direction,
  read: s.readStatus,
  write: s.writeStatus,
  readBuffered: s.readBufferLength,
  writeBuffered: s.writeBufferLength,
  needsDrain: s.writableNeedsDrain,
});

/**
 * Core membership over libp2p: a long-lived stream each way to every connected peer carries
 * heartbeats and member records; records are signed by their node.
 */
export async function startMeshMembership(
  libp2p: Libp2p,
  envelope: GossipEnvelope,
  metrics: MeshMetricsRecorder,
  o: MeshMembershipOptions,
): Promise<MeshMembership> {
  const self = libp2p.peerId.toString();
  const outbound = new Map<ReplicaId, Link>();
  let stopped = false;

  const membership: Membership = createMembership({
    self,
    timers: {
      now: () => Date.now(),
      setTimer(fn, ms) {
        const t = setTimeout(fn, ms);
        t.unref();
        return () => clearTimeout(t);
      },
    },
    links: {
      send,
      // Membership's heartbeats are the liveness check of every connection (libp2p's own
      // connection monitor is off): a connection they find dead is closed here.
      close(peer, silentMs) {
        const connections = libp2p.getConnections(peerIdFromString(peer));
        if (connections.length === 0) return;
        // What the link's streams held when it was given up: a peer that sent nothing leaves
        // them empty; data stuck behind flow control or a slow reader shows here.
        const streams = connections.flatMap((c) => c.streams.map(streamState));
        const queued = outbound.get(peer)?.queued ?? 0;
        for (const c of connections) c.abort(new Error('membership link silent'));
        metrics.record({ type: 'silent-link', peer, silentMs });
        o.logger?.warn({ peer, silentMs, queued, streams }, 'closed a silent link');
      },
    },
    probeIntervalMs: o.probeIntervalMs,
    // One stream each way per link. `send` drops a heartbeat on a slow link, or a frame whose
    // stream is gone, and a link without its stream comes up again over a new one (linkUp) or
    // goes down: no record is lost on a link that stays up.
    reliableLinks: true,
    maxFrameBytes: o.maxFrameBytes,
    maxMembers: o.maxMembers,
    // The bare signature: the record holds the signed fields already (an envelope would repeat them).
    sign: (claim) => envelope.sign(CLAIM_TOPIC, claim),
    verify: (node, claim, proof) => envelope.verify(node, CLAIM_TOPIC, claim, proof),
    onReject(peer, reason, detail) {
      metrics.record({
        type: 'rejected',
        protocol: 'presence',
        reason: reason === 'forged' ? 'forged-origin' : reason === 'full' ? 'oversized' : 'malformed',
        peer,
        detail: `membership: ${detail}`,
      });
    },
  });

  function send(peer: ReplicaId, frame: Uint8Array): void {
    const link = outbound.get(peer);
    if (link === undefined) return;
    // A heartbeat is the smallest frame: a slow link sheds those first.
    if (link.queued >= MAX_QUEUED_FRAMES && frame.byteLength < 32) return;
    if (link.stream.status !== 'open' || link.stream.writeStatus !== 'writable') return;
    link.queued++;
    metrics.record({
      type: 'message',
      direction: 'out',
      protocol: 'presence',
      bytes: frame.byteLength,
      peer,
    });
    // The link may close between the check and the write: a lost frame, as on any dropped link.
    Promise.resolve()
      .then(() => link.lp.write(frame))
      .catch(() => link.stream.abort(new Error('membership link write failed')))
      .finally(() => link.queued--);
  }

  async function openLink(connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString();
    if (stopped || outbound.has(peer)) return;
    const stream = await connection.newStream(MEMBERSHIP_PROTOCOL, { signal: AbortSignal.timeout(5000) });
    if (stopped || outbound.has(peer)) {
      stream.abort(new Error('duplicate membership link'));
      return;
    }
    outbound.set(peer, { stream, lp: lpStream(stream, { maxDataLength: o.maxFrameBytes }), queued: 0 });
    stream.addEventListener('close', () => {
      if (outbound.get(peer)?.stream !== stream) return;
      outbound.delete(peer);
      // The link lives on if another connection to the peer does.
      const other = libp2p.getConnections(connection.remotePeer).find((c) => c.status === 'open');
      if (other !== undefined) openLink(other).catch(() => undefined);
    });
    membership.linkUp(peer);
  }

  async function readLink(stream: Stream, peer: ReplicaId): Promise<void> {
    const lp = lpStream(stream, { maxDataLength: o.maxFrameBytes });
    for (;;) {
      const frame = (await lp.read()).subarray();
      metrics.record({
        type: 'message',
        direction: 'in',
        protocol: 'presence',
        bytes: frame.byteLength,
        peer,
      });
      membership.receive(peer, frame);
    }
  }

  await libp2p.handle(
    MEMBERSHIP_PROTOCOL,
    (stream, connection) => {
      readLink(stream, connection.remotePeer.toString()).catch(() => stream.abort(new Error('link closed')));
    },
    { maxInboundStreams: 2, maxOutboundStreams: 2 },
  );

  const onConnect = (evt: CustomEvent<Connection>): void => {
    openLink(evt.detail).catch(() => undefined);
  };

  const onDisconnect = (evt: CustomEvent<PeerId>): void => {
    const peer = evt.detail.toString();
    outbound.delete(peer);
    if (!stopped) membership.linkDown(peer);
  };

  libp2p.addEventListener('connection:open', onConnect);
  libp2p.addEventListener('peer:disconnect', onDisconnect);
  for (const connection of libp2p.getConnections()) openLink(connection).catch(() => undefined);

  // The same isolation as the membership it forwards: a listener's error is dropped.
  const events = new Emitter<PresenceEvents>({ onListenerError: () => undefined });
  membership.on('presence', (peer, state) => events.emit('presence', [peer, state]));

  return {
    self,
    publish(state) {
      membership.publish(state);
    },
    ...events.observable(),
    status: (node) => membership.status(node),
    members: () => membership.members(),
    lagMs: () => membership.lagMs(),
    peers() {
      const out = new Map<ReplicaId, PresenceState>();
      for (const node of membership.members()) {
        const r = membership.record(node);
        if (node !== self && r?.status === 'alive') out.set(node, r.state);
      }
      return out;
    },
    liveLinks() {
      const out = new Map<ReplicaId, readonly ReplicaId[]>();
      for (const node of membership.members()) {
        const r = membership.record(node);
        if (node !== self && r !== undefined && membership.status(node) === 'alive') out.set(node, r.links);
      }
      return out;
    },
    links() {
      const out = new Map<ReplicaId, readonly ReplicaId[]>();
      for (const node of membership.members()) {
        if (node === self) out.set(node, [...membership.neighbours()].sort());
        else out.set(node, membership.record(node)?.links ?? []);
      }
      return out;
    },
    async close() {
      if (stopped) return;
      membership.leave();
      // Let the goodbye reach the links before libp2p closes them.
      await new Promise((r) => setTimeout(r, 50));
      stopped = true;
      libp2p.removeEventListener('connection:open', onConnect);
      libp2p.removeEventListener('peer:disconnect', onDisconnect);
      await libp2p.unhandle(MEMBERSHIP_PROTOCOL);
    },
  };
}
