/**
 * Keys ordered by when they are due: a binary min-heap over (time, key) with lazy deletion.
 * The map is the authority; a heap entry whose time no longer matches it is skipped, and the
 * heap is rebuilt when stale entries outnumber live ones.
 */
export class DueQueue<K> {
  private readonly times = new Map<K, number>();
  private heap: { at: number; key: K }[] = [];

  get size(): number {
    return this.times.size;
  }

  has(key: K): boolean {
    return this.times.has(key);
  }

  /** Sets (or moves) `key` to be due at `at`. */
  set(key: K, at: number): void {
    this.times.set(key, at);
    this.push({ at, key });
    if (this.heap.length > 2 * this.times.size + 64) this.rebuild();
  }

  delete(key: K): boolean {
    return this.times.delete(key);
  }

  /** The earliest key and its time, without removing it. */
  peek(): { readonly at: number; readonly key: K } | undefined {
    for (;;) {
      const top = this.heap[0];
      if (top === undefined || this.times.get(top.key) === top.at) return top;
      this.popTop();
    }
  }

  /** Removes and returns the earliest key. */
  shift(): { readonly at: number; readonly key: K } | undefined {
    const top = this.peek();
    if (top === undefined) return undefined;
    this.popTop();
    this.times.delete(top.key);
    return top;
  }

  private rebuild(): void {
    this.heap = [];
    for (const [key, at] of this.times) this.push({ at, key });
  }

  private push(e: { at: number; key: K }): void {
    const h = this.heap;
    let i = h.push(e) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (h[parent]!.at <= e.at) break;
      h[i] = h[parent]!;
      i = parent;
    }
    h[i] = e;
  }

  private popTop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && h[r]!.at < h[l]!.at ? r : l;
      if (h[c]!.at >= last.at) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
  }
}
