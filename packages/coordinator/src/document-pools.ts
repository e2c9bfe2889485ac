import { InsufficientRights, type Document } from '@meshwork/core';
import { invalid } from './errors.ts';
import { checkName } from './model.ts';
import type { ResourceNeeds, ResourcePools } from './resources.ts';

export interface DocumentPools extends ResourcePools {
  /** Contributes `amount` units of `pool` from this node (its GPUs, licences, ...). */
  add(pool: string, amount: number): void;
  /** Units of `pool` free mesh-wide, as far as this replica knows. */
  value(pool: string): number;
  /** Units of `pool` this node may take without asking anyone. */
  rights(pool: string): number;
}

/**
 * Resource pools on BoundedCounters: a pool's value is the free units mesh-wide, and each
 * node spends only the rights it holds, so the pool never goes negative without any
 * coordination. A node that lacks rights says so in its heartbeats; nodes with spare rights
 * (and no unmet need of their own for that pool) transfer them.
 */
export function createDocumentPools(
  doc: Document,
  options: { readonly prefix?: string } = {},
): DocumentPools {
  const prefix = options.prefix ?? 'pool/';
  const counter = (pool: string) => doc.boundedCounter(`${prefix}${pool}`);
  const wanted = new Map<string, number>();

  const hasRights = (needs: ResourceNeeds): boolean => {
    let ok = true;
    for (const [pool, n] of Object.entries(needs)) {
      if (counter(pool).rights() >= n) continue;
      wanted.set(pool, Math.max(wanted.get(pool) ?? 0, n));
      ok = false;
    }
    return ok;
  };

  return {
    add(pool, amount) {
      checkName('pool', pool);
      if (!Number.isSafeInteger(amount) || amount < 1) throw invalid('amount', 'must be a positive integer');
      counter(pool).increment(amount);
    },
    value: (pool) => counter(pool).value,
    rights: (pool) => counter(pool).rights(),
    available: hasRights,
    tryAcquire(needs) {
      if (!hasRights(needs)) return null;
      const entries = Object.entries(needs);
      try {
        doc.transact(() => {
          for (const [pool, n] of entries) counter(pool).decrement(n);
        });
      } catch (e) {
        if (e instanceof InsufficientRights) return null;
        throw e;
      }
      for (const [pool] of entries) wanted.delete(pool);
      return () => doc.transact(() => entries.forEach(([pool, n]) => counter(pool).increment(n)));
    },
    wants: () => Object.fromEntries(wanted),
    grant(peer, wants) {
      for (const [pool, n] of Object.entries(wants)) {
        if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1 || wanted.has(pool)) continue;
        const spare = counter(pool).rights();
        if (spare > 0) counter(pool).transfer(peer, Math.min(spare, n));
      }
    },
  };
}
