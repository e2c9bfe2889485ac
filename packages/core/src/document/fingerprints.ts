import type { ReplicaId } from '../replica.ts';

/** Seqs per block: dense seqs cost about 7 bytes each, a lone seq one block (about 240 bytes). */
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
 * fixed blocks of a typed array rather than in a Map entry each (about 70 bytes an event).
 */
export class Fingerprints {
  private readonly blocks = new Map<ReplicaId, Map<number, Uint32Array>>();

  set(replica: ReplicaId, seq: number, print: number): void {
    let perReplica = this.blocks.get(replica);
    if (perReplica === undefined) this.blocks.set(replica, (perReplica = new Map<number, Uint32Array>()));
    const key = Math.floor(seq / BLOCK);
    let block = perReplica.get(key);
    if (block === undefined) perReplica.set(key, (block = new Uint32Array(BLOCK)));
    block[seq % BLOCK] = print;
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
