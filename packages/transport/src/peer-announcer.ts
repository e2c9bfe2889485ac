import type { Libp2p } from '@libp2p/interface';
import type { GossipSub } from '@libp2p/gossipsub';
import { publicKeyToProtobuf } from '@libp2p/crypto/keys';

export interface PeerAnnouncerOptions {
  /** The pubsub peer discovery topic. */
  readonly topic: string;
  /** Time between announcements while this node's links change. */
  readonly baseMs: number;
  /** Time between announcements once the links stayed the same from one to the next. */
  readonly maxMs: number;
  /** Whether this node has fewer links than it keeps (the topology's `minPeers`). */
  readonly shortOfLinks: () => boolean;
}

export interface PeerAnnouncer {
  /**
   * This node's links changed: if it is short of links, the next announcement is at most
   * `baseMs` after the last one.
   */
  linksChanged(): void;
  stop(): void;
}

/** Protobuf field keys of pubsub peer discovery's `Peer { bytes publicKey = 1; repeated bytes addrs = 2; }`. */
const PUBLIC_KEY = 0x0a;
const ADDRS = 0x12;

function field(key: number, bytes: Uint8Array): number[] {
  const out = [key];
  for (let n = bytes.byteLength; ; n >>>= 7) {
    if (n < 0x80) {
      out.push(n);
      break;
    }
    out.push((n & 0x7f) | 0x80);
  }
  return [...out, ...bytes];
}

/** The announcement pubsub peer discovery reads: this node's public key and addresses. */
export function encodeAnnouncement(publicKey: Uint8Array, addrs: readonly Uint8Array[]): Uint8Array {
  return new Uint8Array([...field(PUBLIC_KEY, publicKey), ...addrs.flatMap((a) => field(ADDRS, a))]);
}

/**
 * Announces this node on the peer discovery topic (the receiving side is pubsub peer discovery,
 * listening only), backing off while the mesh around it is settled: every node takes in every
 * announcement, a peer-store write each, so fixed-rate announcements cost each node more the
 * larger the mesh. A node whose links change while it has fewer than it keeps (a newcomer, a node
 * that lost peers) announces every `baseMs`; once its links stayed the same from one announcement
 * to the next, every `maxMs`, which only keeps its addresses fresh in the peer stores. Newcomers
 * are found quickly anyway: they announce at the fast rate, and nodes with room dial them. A node
 * with enough links needs nobody to find it: when a partition heals, every node's links change at
 * once, and announcing then made each of them an announcement to every node of the mesh.
 */
export function startPeerAnnouncer(
  libp2p: Libp2p<{ pubsub: GossipSub }>,
  o: PeerAnnouncerOptions,
): PeerAnnouncer {
  const pubsub = libp2p.services.pubsub;
  const publicKey = publicKeyToProtobuf(libp2p.peerId.publicKey!);
  let intervalMs = o.baseMs;
  let lastAt = -Infinity;
  let changed = true;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const schedule = (delayMs: number): void => {
    clearTimeout(timer);
    timer = setTimeout(announce, Math.max(0, delayMs));
    timer.unref();
  };

  function announce(): void {
    if (stopped) return;
    if (pubsub.getSubscribers(o.topic).length > 0) {
      const addrs = libp2p.getMultiaddrs().map((ma) => ma.bytes);
      void pubsub.publish(o.topic, encodeAnnouncement(publicKey, addrs)).catch(() => undefined);
      lastAt = performance.now();
      intervalMs = changed ? o.baseMs : o.maxMs;
      changed = false;
    }
    schedule(intervalMs);
  }

  schedule(0);
  return {
    linksChanged() {
      if (!o.shortOfLinks()) return;
      changed = true;
      if (intervalMs === o.baseMs) return;
      intervalMs = o.baseMs;
      schedule(lastAt + o.baseMs - performance.now());
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
