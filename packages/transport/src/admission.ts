import type { ConnectionGater, PeerId } from '@libp2p/interface';

export interface Admission {
  readonly gater: ConnectionGater;
  /** Refuses `peer` from now on (until {@link Admission.undeny}), on top of the allow-list. */
  deny(peer: string): void;
  undeny(peer: string): void;
  isAdmitted(peer: string): boolean;
}

/**
 * Who may connect. The allow-list and the deny set are checked on the peer id
 * that Noise authenticated, so a peer cannot claim to be someone else; dials
 * to refused peers are not even attempted.
 */
export function createAdmission(
  allow: ReadonlySet<string> | undefined,
  onDenied: (peer: string) => void,
): Admission {
  const denied = new Set<string>();
  const isAdmitted = (peer: string): boolean => !denied.has(peer) && (allow === undefined || allow.has(peer));
  const check = (peerId: PeerId): boolean => {
    const peer = peerId.toString();
    if (isAdmitted(peer)) return false;
    onDenied(peer);
    return true;
  };
  return {
    gater: {
      denyDialPeer: (peerId) => !isAdmitted(peerId.toString()),
      denyInboundEncryptedConnection: check,
      denyOutboundEncryptedConnection: check,
    },
    deny: (peer) => void denied.add(peer),
    undeny: (peer) => void denied.delete(peer),
    isAdmitted,
  };
}
