import { DecodeError } from '../codec/decode-error.ts';
import type { Reader } from '../codec/reader.ts';
import type { Writer } from '../codec/writer.ts';
import type { ReplicaId } from '../replica.ts';
import { LimitExceededError } from '../types/errors.ts';
import { MAX_SEQ, type Dot } from './dot.ts';

/**
 * The set of dots a replica has seen: a version vector (every seq up to
 * `vector[r]` for each replica r) plus a dot cloud of seqs seen past a gap.
 * A cloud seq folds into the vector only when the gap before it closes, so a
 * delta that arrives out of order never makes the dots it skipped look seen
 * (which would read as their removal).
 */
export class CausalContext {
  /**
   * The vector. While it names at most one replica (nearly every delta) that
   * entry is held inline in `soleReplica`/`soleTop` and `vector` is undefined.
   */
  private vector: Map<ReplicaId, number> | undefined = undefined;
  private soleReplica: ReplicaId | undefined = undefined;
  private soleTop = 0;
  /** Seqs above `vector[r] + 1`; entries exist only while non-empty. Shared empty until first needed. */
  private cloud: Map<ReplicaId, Set<number>> = NO_CLOUD;
  /**
   * A lone cloud dot held inline while `cloud` is still the shared empty map:
   * the context of an add or remove delta is one dot past a gap, and needs no
   * Map or Set. Moved into `cloud` ({@link spill}) before anything else reads it.
   */
  private looseReplica: ReplicaId | undefined = undefined;
  private looseSeq = 0;

  /** True when the context holds dot (replica, seq). */
  has(replica: ReplicaId, seq: number): boolean {
    if (seq <= this.top(replica)) return true;
    if (this.looseReplica !== undefined) return seq === this.looseSeq && replica === this.looseReplica;
    const extra = this.cloud.get(replica);
    return extra !== undefined && extra.has(seq);
  }

  /** Adds one dot. Returns true when it was new. */
  add(replica: ReplicaId, seq: number): boolean {
    const top = this.top(replica);
    if (seq <= top) return false;
    if (seq === top + 1) {
      this.setTop(replica, seq);
      if (this.cloud !== NO_CLOUD || this.looseReplica !== undefined) this.fold(replica);
      return true;
    }
    if (this.cloud === NO_CLOUD) {
      if (this.looseReplica === undefined) {
        this.looseReplica = replica;
        this.looseSeq = seq;
        return true;
      }
      if (this.looseReplica === replica && this.looseSeq === seq) return false;
    }
    return this.addToCloud(replica, seq);
  }

  /** Adds a seq past the gap of `replica` to the cloud. Returns true when it was new. */
  private addToCloud(replica: ReplicaId, seq: number): boolean {
    this.spill();
    let extra = this.cloud.get(replica);
    if (extra === undefined) {
      if (this.cloud === NO_CLOUD) this.cloud = new Map();
      extra = new Set();
      this.cloud.set(replica, extra);
    }
    if (extra.has(seq)) return false;
    extra.add(seq);
    return true;
  }

  /** The next unused seq for `replica` (one past the highest seen, gaps included). */
  nextSeq(replica: ReplicaId): number {
    let top = this.top(replica);
    if (this.looseReplica === replica && this.looseSeq > top) top = this.looseSeq;
    const extra = this.cloud.get(replica);
    if (extra !== undefined) for (const s of extra) if (s > top) top = s;
    // Peers refuse seqs past MAX_SEQ: refuse to make one rather than publish it.
    if (top >= MAX_SEQ) {
      throw new LimitExceededError(
        'maxSeq',
        MAX_SEQ,
        `replica ${replica} has used every seq up to ${MAX_SEQ}`,
      );
    }
    return top + 1;
  }

  /** Allocates and records the next dot of `replica`. */
  nextDot(replica: ReplicaId): Dot {
    const seq = this.nextSeq(replica);
    this.add(replica, seq);
    return { replica, seq };
  }

  /** The contiguous prefix seen of `replica`: every seq ≤ the result is in the context. */
  contiguous(replica: ReplicaId): number {
    return this.top(replica);
  }

  /** Adds every dot of `other`. Returns true when anything was new. */
  join(other: CausalContext): boolean {
    let changed = false;
    if (other.vector === undefined) {
      if (other.soleReplica !== undefined) changed = this.raise(other.soleReplica, other.soleTop);
    } else {
      for (const [replica, top] of other.vector) if (this.raise(replica, top)) changed = true;
    }
    if (other.looseReplica !== undefined && this.add(other.looseReplica, other.looseSeq)) changed = true;
    for (const [replica, extra] of other.cloud) {
      for (const s of extra) if (this.add(replica, s)) changed = true;
    }
    return changed;
  }

  /** Raises the vector of `replica` to at least `top`. Returns true when it rose. */
  private raise(replica: ReplicaId, top: number): boolean {
    if (top <= this.top(replica)) return false;
    this.setTop(replica, top);
    if (this.looseReplica === replica && this.looseSeq <= top) this.dropLoose();
    const extra = this.cloud.get(replica);
    if (extra !== undefined) {
      for (const s of extra) if (s <= top) extra.delete(s);
      this.prune(replica, extra);
    }
    this.fold(replica);
    return true;
  }

  /** True when every dot of `other` is in this context. */
  covers(other: CausalContext): boolean {
    this.spill();
    if (other.looseReplica !== undefined && !this.has(other.looseReplica, other.looseSeq)) return false;
    if (other.vector === undefined) {
      if (other.soleReplica !== undefined && !this.coversPrefix(other.soleReplica, other.soleTop))
        return false;
    } else {
      for (const [replica, top] of other.vector) if (!this.coversPrefix(replica, top)) return false;
    }
    for (const [replica, extra] of other.cloud) {
      for (const s of extra) if (!this.has(replica, s)) return false;
    }
    return true;
  }

  /** True when this context holds every seq 1..`top` of `replica`. */
  private coversPrefix(replica: ReplicaId, top: number): boolean {
    const mine = this.top(replica);
    if (top <= mine) return true;
    // Possible only when the cloud holds every seq in (mine, top]; checking its size
    // first keeps a huge remote vector from costing a huge loop.
    const extra = this.cloud.get(replica);
    if (extra === undefined || extra.size < top - mine) return false;
    for (let s = mine + 1; s <= top; s++) if (!extra.has(s)) return false;
    return true;
  }

  /** Every dot, replica by replica, seqs ascending. Expands the vector: use on small contexts. */
  *dots(): Generator<Dot> {
    this.spill();
    for (const replica of this.replicas()) {
      const top = this.top(replica);
      for (let seq = 1; seq <= top; seq++) yield { replica, seq };
      const extra = this.cloud.get(replica);
      if (extra !== undefined) for (const seq of [...extra].sort(ascending)) yield { replica, seq };
    }
  }

  /** Replicas with at least one dot, sorted. */
  replicas(): ReplicaId[] {
    this.spill();
    const out =
      this.vector !== undefined
        ? [...this.vector.keys()]
        : this.soleReplica !== undefined
          ? [this.soleReplica]
          : [];
    for (const r of this.cloud.keys()) if (this.top(r) === 0) out.push(r);
    if (out.length > 1) out.sort();
    return out;
  }

  get isEmpty(): boolean {
    return (
      this.vector === undefined &&
      this.soleReplica === undefined &&
      this.looseReplica === undefined &&
      this.cloud.size === 0
    );
  }

  /** Number of dots held (vector prefixes plus cloud). */
  get size(): number {
    let n = this.soleTop + (this.looseReplica === undefined ? 0 : 1);
    if (this.vector !== undefined) for (const top of this.vector.values()) n += top;
    for (const extra of this.cloud.values()) n += extra.size;
    return n;
  }

  clone(): CausalContext {
    const copy = new CausalContext();
    if (this.vector !== undefined) copy.vector = new Map(this.vector);
    copy.soleReplica = this.soleReplica;
    copy.soleTop = this.soleTop;
    copy.looseReplica = this.looseReplica;
    copy.looseSeq = this.looseSeq;
    if (this.cloud.size > 0) copy.cloud = new Map();
    for (const [r, extra] of this.cloud) copy.cloud.set(r, new Set(extra));
    return copy;
  }

  equals(other: CausalContext): boolean {
    return this.covers(other) && other.covers(this);
  }

  private top(replica: ReplicaId): number {
    if (this.vector === undefined) return replica === this.soleReplica ? this.soleTop : 0;
    return this.vector.get(replica) ?? 0;
  }

  private setTop(replica: ReplicaId, top: number): void {
    if (this.vector === undefined) {
      if (this.soleReplica === undefined || this.soleReplica === replica) {
        this.soleReplica = replica;
        this.soleTop = top;
        return;
      }
      this.vector = new Map([[this.soleReplica, this.soleTop]]);
      this.soleReplica = undefined;
      this.soleTop = 0;
    }
    this.vector.set(replica, top);
  }

  /** Moves the loose dot into `cloud`. */
  private spill(): void {
    const replica = this.looseReplica;
    if (replica === undefined) return;
    this.cloud = new Map([[replica, new Set([this.looseSeq])]]);
    this.dropLoose();
  }

  private dropLoose(): void {
    this.looseReplica = undefined;
    this.looseSeq = 0;
  }

  /** Forgets the cloud entry of `replica` once empty, and the cloud map once it holds nothing. */
  private prune(replica: ReplicaId, extra: Set<number>): void {
    if (extra.size > 0) return;
    this.cloud.delete(replica);
    if (this.cloud.size === 0) this.cloud = NO_CLOUD;
  }

  /** Moves cloud seqs that now continue the vector of `replica` into it. */
  private fold(replica: ReplicaId): void {
    if (this.looseReplica !== undefined) {
      // The cloud is empty: only the loose dot can continue the vector.
      const top = this.top(replica);
      if (this.looseReplica === replica && this.looseSeq === top + 1) {
        this.setTop(replica, this.looseSeq);
        this.dropLoose();
      }
      return;
    }
    const extra = this.cloud.get(replica);
    if (extra === undefined) return;
    let top = this.top(replica);
    while (extra.delete(top + 1)) top++;
    this.setTop(replica, top);
    this.prune(replica, extra);
  }

  /**
   * Deterministic encoding: replicas sorted; per replica the vector top, then
   * the cloud seqs ascending, each as the gap from the previous one.
   */
  encode(w: Writer, flag = false): void {
    const loose = this.looseReplica;
    if (loose !== undefined && this.vector === undefined && (this.soleReplica ?? loose) === loose) {
      // One replica with one dot past its prefix: the context of an ORSet add or remove delta.
      const top = this.soleTop;
      w.uint(2 + (flag ? 1 : 0));
      w.replica(loose);
      w.uint(top);
      w.uint(1);
      w.uint(this.looseSeq - top - 2);
      return;
    }
    if (loose === undefined && this.cloud.size === 0 && this.vector === undefined) {
      // No gaps and at most one replica, the shape of nearly every delta:
      // nothing to sort, no arrays to build.
      const replica = this.soleReplica;
      w.uint((replica === undefined ? 0 : 2) + (flag ? 1 : 0));
      if (replica !== undefined) {
        w.replica(replica);
        w.uint(this.soleTop);
        w.uint(0);
      }
      return;
    }
    const replicas = this.replicas(); // spills the loose dot
    // The replica count shares its varint with one flag bit for the caller (see decodeFlagged).
    w.uint(replicas.length * 2 + (flag ? 1 : 0));
    for (const replica of replicas) {
      w.replica(replica);
      const top = this.top(replica);
      w.uint(top);
      const extra = this.cloud.get(replica);
      if (extra === undefined) {
        w.uint(0);
        continue;
      }
      const seqs = [...extra].sort(ascending);
      w.uint(seqs.length);
      let prev = top + 1;
      for (const s of seqs) {
        w.uint(s - prev - 1);
        prev = s;
      }
    }
  }

  static decode(r: Reader): CausalContext {
    const { ctx, flag } = CausalContext.decodeFlagged(r);
    if (flag) throw new DecodeError('invalid', 'causal context: unexpected flag');
    return ctx;
  }

  /** Decodes a context written with `encode(w, flag)`, returning the flag too. */
  static decodeFlagged(r: Reader): { ctx: CausalContext; flag: boolean } {
    const ctx = new CausalContext();
    const header = r.uint('causal context header');
    const n = Math.floor(header / 2);
    if (n > r.limits.maxEntries) throw new DecodeError('too_large', `causal context: ${n} replicas`);
    if (n * 3 > r.remaining) throw new DecodeError('truncated', `causal context: ${n} replicas do not fit`);
    let last: ReplicaId | undefined;
    for (let i = 0; i < n; i++) {
      const replica = r.replica('causal context replica');
      if (last !== undefined && replica <= last) {
        throw new DecodeError('invalid', 'causal context: replicas not sorted');
      }
      last = replica;
      const top = r.uint('causal context vector');
      if (top > MAX_SEQ) throw new DecodeError('invalid', 'causal context: seq too large');
      const k = r.count('causal context cloud', 1);
      if (top === 0 && k === 0) throw new DecodeError('invalid', 'causal context: empty replica entry');
      if (top > 0) ctx.setTop(replica, top);
      let extra: Set<number> | undefined;
      let prev = top + 1;
      for (let j = 0; j < k; j++) {
        const s = prev + 1 + r.uint('causal context cloud gap');
        if (s > MAX_SEQ) throw new DecodeError('invalid', 'causal context: seq too large');
        if (k === 1 && ctx.cloud === NO_CLOUD && ctx.looseReplica === undefined) {
          ctx.looseReplica = replica;
          ctx.looseSeq = s;
        } else {
          (extra ??= new Set()).add(s);
        }
        prev = s;
      }
      if (extra !== undefined) {
        ctx.spill();
        if (ctx.cloud === NO_CLOUD) ctx.cloud = new Map();
        ctx.cloud.set(replica, extra);
      }
    }
    return { ctx, flag: header % 2 === 1 };
  }
}

/** The empty cloud every context starts with; never written to. */
const NO_CLOUD: Map<ReplicaId, Set<number>> = new Map();

function ascending(a: number, b: number): number {
  return a - b;
}
