import type { ReplicaId } from '../replica.ts';
import type { CausalContext } from './causal-context.ts';
import type { Dot } from './dot.ts';
import { pack, type PackedDot } from './packed-dot.ts';

/**
 * A set of dots: "this key is present because of these events". Nearly
 * always one dot, so the first is held inline (no Dot object, no array);
 * further dots go to `rest`.
 */
export class DotSet {
  private first: ReplicaId | undefined;
  private firstSeq: number;
  private rest: Dot[] | undefined;

  constructor(dots?: readonly Dot[]) {
    this.first = undefined;
    this.firstSeq = 0;
    this.rest = undefined;
    if (dots !== undefined) for (const d of dots) this.add(d.replica, d.seq);
  }

  static of(replica: ReplicaId, seq: number): DotSet {
    const s = new DotSet();
    s.first = replica;
    s.firstSeq = seq;
    return s;
  }

  get size(): number {
    return this.first === undefined ? 0 : 1 + (this.rest?.length ?? 0);
  }

  has(replica: ReplicaId, seq: number): boolean {
    if (this.first === undefined) return false;
    if (this.firstSeq === seq && this.first === replica) return true;
    if (this.rest !== undefined)
      for (const d of this.rest) if (d.seq === seq && d.replica === replica) return true;
    return false;
  }

  /** Adds a dot the set does not hold. */
  add(replica: ReplicaId, seq: number): void {
    if (this.first === undefined) {
      this.first = replica;
      this.firstSeq = seq;
    } else {
      (this.rest ??= []).push({ replica, seq });
    }
  }

  clear(): void {
    this.first = undefined;
    this.firstSeq = 0;
    this.rest = undefined;
  }

  /**
   * The lone dot packed (see {@link PackedDot}); undefined unless exactly one dot that packs.
   * With `allocate` false, only a replica that already has a slot packs.
   */
  packed(allocate = true): PackedDot | undefined {
    return this.first !== undefined && this.rest === undefined
      ? pack(this.first, this.firstSeq, allocate)
      : undefined;
  }

  /** The dots, as a new array. */
  get dots(): Dot[] {
    if (this.first === undefined) return [];
    const out: Dot[] = [{ replica: this.first, seq: this.firstSeq }];
    if (this.rest !== undefined) out.push(...this.rest);
    return out;
  }

  /** Adds every dot to `ctx`. */
  addTo(ctx: CausalContext): void {
    if (this.first === undefined) return;
    ctx.add(this.first, this.firstSeq);
    if (this.rest !== undefined) for (const d of this.rest) ctx.add(d.replica, d.seq);
  }

  /**
   * The causal join of DotSets, in place: drops dots `dc` has seen that `d`
   * no longer holds, takes dots of `d` that `sc` has not seen.
   */
  joinFrom(sc: CausalContext, d: DotSet, dc: CausalContext): boolean {
    if (this.rest === undefined && d.rest === undefined) {
      // One dot or none on each side: the common case, without allocating.
      const mine = this.first;
      const theirs = d.first;
      const same = mine !== undefined && mine === theirs && this.firstSeq === d.firstSeq;
      if (same) return false;
      let changed = false;
      if (mine !== undefined && dc.has(mine, this.firstSeq)) {
        this.clear();
        changed = true;
      }
      if (theirs !== undefined && !sc.has(theirs, d.firstSeq)) {
        this.add(theirs, d.firstSeq);
        changed = true;
      }
      return changed;
    }
    const before = this.dots;
    const keep = before.filter((x) => !dc.has(x.replica, x.seq) || d.has(x.replica, x.seq));
    let changed = keep.length !== before.length;
    for (const x of d.dots) {
      if (!sc.has(x.replica, x.seq) && !this.has(x.replica, x.seq)) {
        keep.push(x);
        changed = true;
      }
    }
    if (changed) {
      this.clear();
      for (const x of keep) this.add(x.replica, x.seq);
    }
    return changed;
  }
}
