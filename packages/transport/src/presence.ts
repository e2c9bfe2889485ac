import {
  DecodeError,
  isValue,
  type PresenceChannel,
  type PresenceState,
  type ReplicaId,
} from '@meshwork/core';
import { Reader, Writer, readValue, writeValue } from '@meshwork/core/internal';
import { TopicValidatorResult, type GossipSub, type Message } from '@libp2p/gossipsub';
import type { PeerId } from '@libp2p/interface';
import { openReceived, type GossipEnvelope } from './gossip-envelope.ts';
import { LINKS_DIGEST_BYTES, type MemberLinks } from './mesh-shape.ts';
import type { MeshMetricsRecorder, RejectReason } from './metrics.ts';

// The version changes with every wire-incompatible change (docs/design/transport-gossip.md). 2:
// heartbeats carry the sender's links, in the envelope of doc/2.
export const PRESENCE_TOPIC = 'meshwork/presence/2';
const VERSION = 2;
/** Most replicas whose presence a node tracks. */
export const MAX_PRESENCE_PEERS = 10_000;
const STATE = 1;
const LEFT = 2;

/**
 * One presence update: awareness-style, the latest clock per replica wins. A state update also
 * carries the sender's links (see mesh-shape.ts), so every node can tell whether the mesh is full.
 */
export type PresenceUpdate =
  | { kind: 'state'; replica: ReplicaId; clock: number; links: Uint8Array; state: PresenceState }
  | { kind: 'left'; replica: ReplicaId; clock: number };

export function encodePresence(u: PresenceUpdate): Uint8Array {
  const w = new Writer();
  w.byte(VERSION);
  w.byte(u.kind === 'state' ? STATE : LEFT);
  w.string(u.replica);
  w.uint(u.clock);
  if (u.kind === 'state') {
    w.bytes(u.links);
    writeValue(w, u.state);
  }
  return w.finish();
}

export function decodePresence(bytes: Uint8Array, maxBytes: number): PresenceUpdate {
  const r = new Reader(bytes, {
    maxMessageBytes: maxBytes,
    maxDepth: 16,
    maxEntries: 10_000,
    maxStringBytes: maxBytes,
  });
  const version = r.byte('version');
  if (version !== VERSION) throw new DecodeError('version', `presence version ${version}`);
  const kind = r.byte('kind');
  const replica = r.string('replica');
  const clock = r.uint('clock');
  let update: PresenceUpdate;
  if (kind === STATE) {
    const links = r.bytes('links');
    if (links.byteLength !== LINKS_DIGEST_BYTES)
      throw new DecodeError('invalid', `presence links of ${links.byteLength} bytes`);
    const state = readValue(r);
    if (!isPresenceState(state)) throw new DecodeError('invalid', 'presence state is not an object');
    update = { kind: 'state', replica, clock, links, state };
  } else if (kind === LEFT) {
    update = { kind: 'left', replica, clock };
  } else {
    throw new DecodeError('kind', `presence kind ${kind}`);
  }
  r.end('presence');
  return update;
}

function isPresenceState(v: unknown): v is PresenceState {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

export interface MeshPresence extends PresenceChannel {
  /** The latest state of every peer heard from and not left. */
  peers(): ReadonlyMap<ReplicaId, PresenceState>;
  /** The links every peer heard from and not left announced last, and when. */
  links(): ReadonlyMap<ReplicaId, MemberLinks>;
  /** Announces that this replica leaves, then stops. */
  close(): Promise<void>;
}

/**
 * {@link PresenceChannel} over a gossip topic. Updates are signed; one that
 * speaks for another replica than its signer is rejected. Clocks are
 * wall-clock based and strictly increasing, so a restarted replica's updates
 * supersede its earlier ones.
 */
export function createMeshPresence(
  self: ReplicaId,
  pubsub: GossipSub,
  envelope: GossipEnvelope,
  metrics: MeshMetricsRecorder,
  maxBytes: number,
  /** This node's links, sent with each state. */
  ownLinks: () => Uint8Array,
): MeshPresence {
  const listeners = new Set<(peer: ReplicaId, state: PresenceState | null) => void>();
  const latest = new Map<ReplicaId, PresenceState>();
  const links = new Map<ReplicaId, MemberLinks>();
  const lastClock = new Map<ReplicaId, number>();
  let clock = 0;
  let closed = false;

  const nextClock = (): number => (clock = Math.max(clock + 1, Date.now()));

  const emit = (peer: ReplicaId, state: PresenceState | null): void => {
    for (const l of listeners) {
      try {
        l(peer, state);
      } catch {
        // One listener's failure must not starve the others.
      }
    }
  };

  const reject = (peer: PeerId, reason: RejectReason, detail: string): TopicValidatorResult => {
    metrics.record({ type: 'rejected', protocol: 'presence', reason, peer: peer.toString(), detail });
    return TopicValidatorResult.Reject;
  };

  const validate = (from: PeerId, msg: Message): TopicValidatorResult => {
    metrics.record({
      type: 'message',
      direction: 'in',
      protocol: 'presence',
      bytes: msg.data.byteLength,
      peer: from.toString(),
    });
    const opened = openReceived(envelope, PRESENCE_TOPIC, msg.data, maxBytes);
    if ('reason' in opened) return reject(from, opened.reason, `presence: ${opened.detail}`);
    const { author: signer, data } = opened;
    let u: PresenceUpdate;
    try {
      u = decodePresence(data, maxBytes);
    } catch (err) {
      return reject(from, 'malformed', String(err));
    }
    if (u.replica !== signer) {
      return reject(from, 'forged-origin', `presence of ${u.replica} signed by ${signer}`);
    }
    if ((lastClock.get(u.replica) ?? -1) >= u.clock) return TopicValidatorResult.Ignore;
    // Remembered replicas are bounded: a flood of fresh identities cannot grow memory.
    if (!lastClock.has(u.replica) && lastClock.size >= MAX_PRESENCE_PEERS) return TopicValidatorResult.Ignore;
    lastClock.set(u.replica, u.clock);
    if (u.kind === 'state') {
      latest.set(u.replica, u.state);
      links.set(u.replica, { links: u.links, heardAt: performance.now() });
      emit(u.replica, u.state);
    } else {
      latest.delete(u.replica);
      links.delete(u.replica);
      emit(u.replica, null);
    }
    return TopicValidatorResult.Accept;
  };

  const send = async (bytes: Uint8Array): Promise<void> => {
    metrics.record({ type: 'message', direction: 'out', protocol: 'presence', bytes: bytes.byteLength });
    // Nobody subscribed yet, or stopping: presence is ephemeral, the next heartbeat follows.
    await pubsub.publish(PRESENCE_TOPIC, envelope.seal(PRESENCE_TOPIC, bytes)).catch(() => undefined);
  };

  pubsub.topicValidators.set(PRESENCE_TOPIC, validate);
  pubsub.subscribe(PRESENCE_TOPIC);

  return {
    self,
    publish(state) {
      if (closed) return;
      if (!isPresenceState(state) || !isValue(state))
        throw new TypeError('presence state: not a Value object');
      const bytes = encodePresence({
        kind: 'state',
        replica: self,
        clock: nextClock(),
        links: ownLinks(),
        state,
      });
      if (bytes.byteLength > maxBytes) {
        throw new RangeError(`presence state: ${bytes.byteLength} bytes exceed ${maxBytes}`);
      }
      void send(bytes);
    },
    onPresence(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    peers: () => new Map(latest),
    links: () => links,
    async close() {
      if (closed) return;
      closed = true;
      await send(encodePresence({ kind: 'left', replica: self, clock: nextClock() }));
      pubsub.unsubscribe(PRESENCE_TOPIC);
      pubsub.topicValidators.delete(PRESENCE_TOPIC);
    },
  };
}
