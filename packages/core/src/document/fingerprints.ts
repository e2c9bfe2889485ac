import type { ReplicaId } from '../replica.ts';

/** Seqs per block: dense seqs cost about 10 bytes each, a lone seq about 100 bytes. */
const BLOCK = 32;

/** FNV-1a over a record, made odd so that 0 can stand for "none" in a block. */
export function fingerprint(record: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < record.byteLength; i++) h = Math.imul(h ^ (record[i] as number), 0x01000193);
  return (h | 1) >>> 0;
}

/**
 * Fingerprints of the records in the event log, by dot, for the equivocation check: tells
 * records apart without keeping them. A replica's seqs are nearly dense, so they sit in
 * blocks of an array rather than in a Map entry each (about 70 bytes an event). A block is a
 * plain array grown to the last seq it holds, not a fixed typed array: in a large mesh most
 * replicas have written a handful of events, and a typed array per replica costs more to make
 * and to keep (about 240 bytes) than the few numbers it holds.
 */
export class Fingerprints {
  private readonly blocks = new Map<ReplicaId, Map<number, number[]>>();

  set(replica: ReplicaId, seq: number, print: number): void {
    let perReplica = this.blocks.get(replica);
    if (perReplica === undefined) this.blocks.set(replica, (perReplica = new Map<number, number[]>()));
    const key = Math.floor(seq / BLOCK);
    let block = perReplica.get(key);
    const at = seq % BLOCK;
    if (block === undefined || at >= block.length) {
      // Grown by doubling, to a length of its own (a push would leave room for 16 more), with
      // 0 (none) in the new slots.
      const grown = new Array<number>(Math.min(BLOCK, Math.max(at + 1, 2 * (block?.length ?? 0)))).fill(0);
      block?.forEach((p, i) => (grown[i] = p));
      perReplica.set(key, (block = grown));
    }
    block[at] = print;
  }

  /** The fingerprint of (replica, seq), or undefined when the log does not hold that event. */
  get(replica: ReplicaId, seq: number): number | undefined {
    const print = this.blocks.get(replica)?.get(Math.floor(seq / BLOCK))?.[seq % BLOCK];
    return print === undefined || print === 0 ? undefined : print;
  }

  delete(replica: ReplicaId, seq: number): void {
    const perReplica = this.blocks.get(replica);
    const key = Math.floor(seq / BLOCK);
    const block = perReplica?.get(key);
    if (perReplica === undefined || block === undefined) return;
    block[seq % BLOCK] = 0;
    if (block.some((p) => p !== 0)) return;
    perReplica.delete(key);
    if (perReplica.size === 0) this.blocks.delete(replica);
  }
}
