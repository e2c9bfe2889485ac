import { Emitter, type Observable } from '@meshwork/core';

/** The wire protocols a node counts traffic for. */
export type MeshProtocol = 'sync' | 'gossip' | 'presence';
export const meshProtocols: readonly MeshProtocol[] = ['sync', 'gossip', 'presence'];

/** Why something a peer sent was dropped. */
export type RejectReason =
  | 'malformed' // does not decode as a frame or message
  | 'truncated' // the stream ended inside a frame or a round
  | 'oversized' // over the frame or message size cap
  | 'invalid-update' // a well-formed frame whose Document update does not decode
  | 'forged-origin' // gossip whose events claim another origin than the signer
  | 'unsigned' // gossip whose signature does not hold (for its topic)
  | 'protocol-violation' // a frame that is not expected at this point of a round
  | 'timeout'; // a round that did not finish in time
export const rejectReasons: readonly RejectReason[] = [
  'malformed',
  'truncated',
  'oversized',
  'invalid-update',
  'forged-origin',
  'unsigned',
  'protocol-violation',
  'timeout',
];

/**
 * Why a connection was refused: `pnet` when it closed before the pre-shared key was proven (the
 * peer has another key or none: the private-network handshake turns its messages into noise),
 * `allow-list` when the authenticated peer is not on the allow-list, `denied` when it was refused
 * with `deny(peer)`.
 */
export type RefusalReason = 'pnet' | 'allow-list' | 'denied';
export const refusalReasons: readonly RefusalReason[] = ['pnet', 'allow-list', 'denied'];

/** Everything the node reports, for logs and the daemon's Prometheus metrics. */
export type MeshEvent =
  | {
      type: 'message';
      direction: 'in' | 'out';
      protocol: MeshProtocol;
      bytes: number;
      peer?: string;
    }
  | { type: 'rejected'; protocol: MeshProtocol; reason: RejectReason; peer: string; detail: string }
  | { type: 'peers'; connected: number }
  | {
      /** A connection refused at admission. `peer` is known once Noise has authenticated it (not for `pnet`). */
      type: 'refused';
      reason: RefusalReason;
      direction: 'inbound' | 'outbound';
      /** The remote multiaddr. */
      address: string;
      peer?: string;
    }
  | {
      type: 'sync-round';
      peer: string;
      initiator: boolean;
      outcome: 'completed' | 'failed';
      durationMs: number;
      snapshots: number;
    }
  | {
      /** Remote events merged into a Document: what convergence is made of. */
      type: 'applied';
      document: string;
      via: 'gossip' | 'sync';
      peer: string;
      events: number;
      duplicates: number;
    }
  | {
      /** A local batch too large for one gossip message; anti-entropy carries it. */
      type: 'deferred';
      document: string;
      bytes: number;
    }
  /**
   * A gossip message applied and not forwarded: in a full mesh every node has it from its
   * author. Unsigned when its author sent it so (only straight to its readers).
   */
  | { type: 'unforwarded'; document: string; signed: boolean }
  | {
      /**
       * A redial scheduled: `target` is a peer id or a bootstrap address. `reconnecting` when the
       * peer was connected lately, whose retries are then at most `redial.reconnectMaxMs` apart.
       */
      type: 'redial';
      target: string;
      delayMs: number;
      reconnecting: boolean;
    }
  /** A link closed for having too many peers: `by` this node (`self`) or by the other (`peer`). */
  | { type: 'pruned'; peer: string; by: 'self' | 'peer' }
  /** A link closed by this node for carrying nothing, heartbeats included, for `silentMs`. */
  | { type: 'silent-link'; peer: string; silentMs: number };

export interface MeshCounters {
  messagesIn: Record<MeshProtocol, number>;
  messagesOut: Record<MeshProtocol, number>;
  bytesIn: Record<MeshProtocol, number>;
  bytesOut: Record<MeshProtocol, number>;
  rejected: Record<RejectReason, number>;
  peers: number;
  connectionsRefused: Record<RefusalReason, number>;
  syncRounds: { completed: number; failed: number; snapshots: number };
  eventsApplied: { gossip: number; sync: number };
  duplicates: number;
  deferredBatches: number;
  unforwarded: { signed: number; unsigned: number };
  /** Redials scheduled after a failed dial or a lost connection. */
  redials: number;
  /** Links pruned by either side for having too many peers. */
  pruned: number;
  /** Links this node closed for having gone silent. */
  silentLinks: number;
}

export type MeshEventListener = (event: MeshEvent) => void;

/** What the metrics feed tells: every MeshEvent, as `event`. */
export interface MeshMetricsEvents {
  event: MeshEventListener;
}

/**
 * Counters and an event feed. A listener that throws does not keep the others from hearing the
 * event, nor fail the transport: its error is dropped.
 */
export interface MeshMetrics extends Observable<MeshMetricsEvents> {
  snapshot(): MeshCounters;
}

/** The writable side, used inside the transport. */
export interface MeshMetricsRecorder extends MeshMetrics {
  record(event: MeshEvent): void;
}

const perProtocol = (): Record<MeshProtocol, number> => ({ sync: 0, gossip: 0, presence: 0 });

export function createMeshMetrics(): MeshMetricsRecorder {
  const c: MeshCounters = {
    messagesIn: perProtocol(),
    messagesOut: perProtocol(),
    bytesIn: perProtocol(),
    bytesOut: perProtocol(),
    rejected: Object.fromEntries(rejectReasons.map((r) => [r, 0])) as Record<RejectReason, number>,
    peers: 0,
    connectionsRefused: Object.fromEntries(refusalReasons.map((r) => [r, 0])) as Record<
      RefusalReason,
      number
    >,
    syncRounds: { completed: 0, failed: 0, snapshots: 0 },
    eventsApplied: { gossip: 0, sync: 0 },
    duplicates: 0,
    deferredBatches: 0,
    unforwarded: { signed: 0, unsigned: 0 },
    redials: 0,
    pruned: 0,
    silentLinks: 0,
  };
  // A faulty metrics sink must not break the transport.
  const events = new Emitter<MeshMetricsEvents>({ onListenerError: () => undefined });

  const count = (e: MeshEvent): void => {
    switch (e.type) {
      case 'message':
        if (e.direction === 'in') {
          c.messagesIn[e.protocol]++;
          c.bytesIn[e.protocol] += e.bytes;
        } else {
          c.messagesOut[e.protocol]++;
          c.bytesOut[e.protocol] += e.bytes;
        }
        break;
      case 'rejected':
        c.rejected[e.reason]++;
        break;
      case 'peers':
        c.peers = e.connected;
        break;
      case 'refused':
        c.connectionsRefused[e.reason]++;
        break;
      case 'sync-round':
        c.syncRounds[e.outcome]++;
        c.syncRounds.snapshots += e.snapshots;
        break;
      case 'applied':
        c.eventsApplied[e.via] += e.events;
        c.duplicates += e.duplicates;
        break;
      case 'deferred':
        c.deferredBatches++;
        break;
      case 'unforwarded':
        c.unforwarded[e.signed ? 'signed' : 'unsigned']++;
        break;
      case 'redial':
        c.redials++;
        break;
      case 'pruned':
        c.pruned++;
        break;
      case 'silent-link':
        c.silentLinks++;
        break;
    }
  };

  return {
    record(event) {
      count(event);
      events.emit('event', [event]);
    },
    snapshot: () => structuredClone(c),
    ...events.observable(),
  };
}
