import type {
  ConnectionGater,
  ConnectionProtector,
  MessageStream,
  MultiaddrConnection,
  PeerId,
} from '@libp2p/interface';
import { preSharedKey } from '@libp2p/pnet';
import type { MeshMetricsRecorder, RefusalReason } from './metrics.ts';
import { createRefusalLog, type MeshLogger } from './refusal-log.ts';

export interface Admission {
  readonly gater: ConnectionGater;
  /** The private-network layer, when a pre-shared key is set. */
  readonly protector: (() => ConnectionProtector) | undefined;
  /** Refuses `peer` from now on (until {@link Admission.undeny}), on top of the allow-list. */
  deny(peer: string): void;
  undeny(peer: string): void;
  /** Replaces the allow-list (undefined: everyone the pre-shared key lets in). */
  setAllowList(allow: ReadonlySet<string> | undefined): void;
  isAdmitted(peer: string): boolean;
  /** Writes the refusals the log held back, and stops its timers. */
  close(): void;
}

export interface AdmissionOptions {
  allow: ReadonlySet<string> | undefined;
  psk: Uint8Array | undefined;
  metrics: MeshMetricsRecorder;
  logger: MeshLogger | undefined;
  logIntervalMs: number;
}

/**
 * Who may connect. The allow-list and the deny set are checked on the peer id
 * that Noise authenticated, so a peer cannot claim to be someone else; dials
 * to refused peers are not even attempted. Every refused connection is counted
 * by reason and logged, rate-limited, so operators can see who knocks.
 */
export function createAdmission(o: AdmissionOptions): Admission {
  const denied = new Set<string>();
  let allow = o.allow;
  const log = o.logger !== undefined ? createRefusalLog(o.logger, o.logIntervalMs) : undefined;
  /**
   * Connections whose private-network handshake started and whose Noise handshake has not yet
   * authenticated the peer. One that closes while in here was refused by the pre-shared key:
   * with different keys, each side decrypts the other's Noise messages into noise.
   */
  const unproven = new WeakSet<MessageStream>();

  const refuse = (
    reason: RefusalReason,
    conn: MultiaddrConnection | MessageStream,
    peer: string | undefined,
  ): void => {
    const event = {
      type: 'refused',
      reason,
      direction: conn.direction,
      address: 'remoteAddr' in conn ? conn.remoteAddr.toString() : '',
      ...(peer !== undefined ? { peer } : {}),
    } as const;
    o.metrics.record(event);
    log?.refused(event);
  };

  const isAdmitted = (peer: string): boolean => !denied.has(peer) && (allow === undefined || allow.has(peer));
  const check = (peerId: PeerId, conn: MultiaddrConnection): boolean => {
    // Noise authenticated the peer, so the pre-shared key matched (if there is one).
    unproven.delete(conn);
    const peer = peerId.toString();
    if (isAdmitted(peer)) return false;
    refuse(denied.has(peer) ? 'denied' : 'allow-list', conn, peer);
    return true;
  };

  const psk = o.psk;
  const protector =
    psk === undefined
      ? undefined
      : (): ConnectionProtector => {
          const inner = preSharedKey({ psk })();
          return {
            protect(conn, options) {
              unproven.add(conn);
              // libp2p aborts the connection when its upgrade fails, and reports it nowhere else.
              conn.addEventListener(
                'close',
                () => {
                  if (unproven.delete(conn)) refuse('pnet', conn, undefined);
                },
                { once: true },
              );
              return inner.protect(conn, options);
            },
          };
        };

  return {
    gater: {
      denyDialPeer: (peerId) => !isAdmitted(peerId.toString()),
      denyInboundEncryptedConnection: check,
      denyOutboundEncryptedConnection: check,
    },
    protector,
    deny: (peer) => void denied.add(peer),
    undeny: (peer) => void denied.delete(peer),
    setAllowList: (next) => void (allow = next),
    isAdmitted,
    close: () => log?.close(),
  };
}
