import type { PresenceChannel, ReplicaId } from '@meshwork/core';
import { hash53 } from '../hash.ts';
import type { CoordinationStore, RecordChange } from '../store.ts';
import type { Liveness } from './liveness.ts';

/*
 * Removes the receipts of nodes gone for good, which would otherwise pile up with churn: one
 * record per (reader, claimer) pair ever seen, replicated everywhere.
 *
 * A node is gone for good, as this replica sees membership, once it left, or once it has been
 * unreachable (or unknown) for `goneMs`. Removing a receipt never lets a claim decide early: a
 * claim counts only the receipts of rivals its node takes to be alive, and a receipt that is
 * missing reads as "nothing covered", so the claim waits longer, never less. A node that comes
 * back is written receipts again: a reader writes one whenever it owes one and the store holds
 * none covering as far (see receipts.ts).
 *
 * Removers, so that a departure costs each node at most one small removal and no record is
 * removed by many nodes: each node removes the receipts it wrote to a node gone for good, and
 * those a gone node wrote to it (it is their only reader, and no longer waits for them). A
 * receipt between two gone nodes is removed by the live node first by rendezvous hash with its
 * writer.
 */

export interface ReceiptRetentionDeps {
  readonly replica: ReplicaId;
  readonly store: Pick<CoordinationStore, 'read'>;
  readonly presence: Pick<PresenceChannel, 'status' | 'members'>;
  /** Tells when a node became reachable or unreachable: whether a look at the nodes may find more to remove. */
  readonly liveness: Pick<Liveness, 'version'>;
  /** How long a node unreachable (or unknown to membership) stays before its receipts go. */
  readonly goneMs: number;
}

export interface ReceiptRetention {
  /** Receipt records that were written or removed: the index of receipts per node follows them. */
  track(keys: readonly string[]): void;
  /** Forgets every receipt (the store is reloaded): `track` gives them again. */
  clear(): void;
  /** The receipts this replica removes now, at most `limit`. */
  sweep(now: number, limit: number): RecordChange[];
  /** When a sweep may find receipts to remove: -Infinity at once, Infinity not before a node or a receipt changes. */
  readonly nextAt: number;
}

interface Pair {
  readonly reader: ReplicaId;
  readonly claimer: ReplicaId;
}

export function createReceiptRetention(deps: ReceiptRetentionDeps): ReceiptRetention {
  const { replica, store, presence, liveness, goneMs } = deps;
  /** Every receipt held, by key, and the keys of each node's receipts, as reader or claimer. */
  const pairs = new Map<string, Pair>();
  const byNode = new Map<ReplicaId, Set<string>>();
  /** When this replica first found each node with receipts not alive. */
  const notAliveSince = new Map<ReplicaId, number>();
  /** The liveness version of the last look at the nodes, and what it left to do. */
  let lookedAt = -1;
  let again = false;
  let deadline = Infinity;

  const untrack = (key: string): void => {
    const pair = pairs.get(key);
    if (pair === undefined) return;
    pairs.delete(key);
    for (const node of [pair.reader, pair.claimer]) {
      const keys = byNode.get(node);
      keys?.delete(key);
      if (keys?.size === 0) {
        byNode.delete(node);
        notAliveSince.delete(node);
      }
    }
  };

  /** The live nodes, and whether this replica is each gone writer's heir, as of the current sweep. */
  let live: ReplicaId[] | null = null;
  const heirOf = new Map<ReplicaId, boolean>();
  /** Whether this replica is the live node first by rendezvous hash with `writer`. */
  const isHeir = (writer: ReplicaId): boolean => {
    let mine = heirOf.get(writer);
    if (mine === undefined) {
      live ??= [...presence.members()].filter((n) => presence.status(n) === 'alive');
      let best = replica;
      let bestHash = hash53(`${writer}\u0000${replica}`);
      for (const n of live) {
        const h = hash53(`${writer}\u0000${n}`);
        if (h > bestHash || (h === bestHash && n < best)) [best, bestHash] = [n, h];
      }
      heirOf.set(writer, (mine = best === replica));
    }
    return mine;
  };
  const nextAt = (): number => {
    if (pairs.size === 0) return Infinity;
    return again || liveness.version !== lookedAt ? -Infinity : deadline;
  };

  return {
    track(keys) {
      for (const key of keys) {
        const stored = store.read('receipt', key);
        const reader = stored?.writer;
        // A receipt's key names its writer, the reader; one that does not is not a receipt anyone reads.
        if (reader === undefined || !key.startsWith(`${reader}>`)) {
          untrack(key);
          continue;
        }
        if (pairs.has(key)) continue;
        const pair = { reader, claimer: key.slice(reader.length + 1) };
        pairs.set(key, pair);
        for (const node of [pair.reader, pair.claimer]) {
          let set = byNode.get(node);
          if (set === undefined) byNode.set(node, (set = new Set()));
          set.add(key);
          // A receipt of a node not alive (written late, or replayed by anti-entropy) may be due already.
          if (node !== replica && presence.status(node) !== 'alive') again = true;
        }
      }
    },
    clear() {
      pairs.clear();
      byNode.clear();
      again = true;
    },
    sweep(now, limit) {
      if (now < nextAt()) return [];
      lookedAt = liveness.version;
      again = false;
      deadline = Infinity;
      live = null;
      heirOf.clear();
      for (const node of notAliveSince.keys()) if (!byNode.has(node)) notAliveSince.delete(node);
      const gone = new Set<ReplicaId>();
      for (const node of byNode.keys()) {
        if (node === replica) continue;
        const status = presence.status(node);
        if (status === 'alive') {
          notAliveSince.delete(node);
          continue;
        }
        if (status !== 'left') {
          let since = notAliveSince.get(node);
          if (since === undefined) notAliveSince.set(node, (since = now));
          if (now - since < goneMs) {
            deadline = Math.min(deadline, since + goneMs);
            continue;
          }
        }
        gone.add(node);
      }
      const out: RecordChange[] = [];
      for (const node of gone) {
        for (const key of byNode.get(node) ?? []) {
          if (out.length >= limit) {
            again = true;
            return out;
          }
          const { reader, claimer } = pairs.get(key)!;
          const other = reader === node ? claimer : reader;
          if (other !== replica && !(gone.has(other) && isHeir(reader))) continue;
          out.push({ kind: 'receipt', key });
          untrack(key);
        }
      }
      return out;
    },
    get nextAt() {
      return nextAt();
    },
  };
}
