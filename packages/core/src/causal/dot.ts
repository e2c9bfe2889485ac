import type { ReplicaId } from '../replica.ts';

/** One event of one replica: the `seq`-th event `replica` generated (seq ≥ 1). */
export interface Dot {
  readonly replica: ReplicaId;
  readonly seq: number;
}

/** Total order on dots: by replica id, then by sequence number. */
export function compareDots(a: Dot, b: Dot): number {
  if (a.replica !== b.replica) return a.replica < b.replica ? -1 : 1;
  return a.seq - b.seq;
}

/**
 * Largest sequence number accepted from the wire: far beyond any real replica,
 * yet leaves room so a forged dot cannot push a replica's next seq past 2^53.
 */
export const MAX_SEQ = 2 ** 48;
