import type { PresenceChannel, ReplicaId } from '@meshwork/core';
import type { CoordinatorEvent } from '../events.ts';

/**
 * Which nodes this replica takes to be alive: reachable over live links, by the membership behind
 * `presence` (see @meshwork/core's createMembership).
 *
 * And whether this replica may trust that view. One that stalled (a blocked or starved event loop)
 * was silent meanwhile: the mesh may have taken it for gone and moved its claims on, and its
 * neighbours may have closed its links, so that it wakes to a view in which they went. So after a
 * stall it holds: no claim, no start, no other node's epoch declared lost,
 *
 * - until a record from another replica has arrived since it woke, past the ones that waited for
 *   it (they may have come just before its links closed): its links still carry the mesh's news
 *   of its claims and leases (on a busy mesh, at once);
 * - and, when nodes become unreachable in the stall's wake (links closed while it stalled), until
 *   a node is reachable again, plus the settle window for what that link brings.
 *
 * Either lasts at most as long as the stall did: a node that is really alone then goes on alone,
 * as one side of a partition does. But a replica that lost most of its reach in the stall's wake
 * (the nodes lost outnumber those it still reaches) is more likely cut off than the mesh gone:
 * its neighbours closed its links, and its redials may take longer than it stalled. It holds
 * until it reaches most of the mesh again, up to the longest hold (`maxHoldMs`).
 *
 * A replica that loses every other node at once (more than one, and none left: its last links
 * closed) is likewise more likely cut off than the survivor of a mesh that died, stalled or not:
 * a starved replica that closes its last link for silence sees the whole mesh go in one
 * moment. It holds the same way until a node is reachable again, plus the settle window, and a
 * record from another replica has arrived since; up to the longest hold, after which a replica
 * that is really alone goes on alone.
 */
export interface Liveness {
  alive(node: ReplicaId): boolean;
  /** Unreachable or left. A node never heard of (we just started) is left to its lease. */
  gone(node: ReplicaId): boolean;
  /**
   * Since when `node` has been gone (this replica's clock), or undefined while it is not. A node
   * lost in the wake of this replica's own stall counts from the end of the hold.
   */
  goneSince(node: ReplicaId): number | undefined;
  /** Membership told of `node`: reachable again (true) or gone (false). */
  observe(node: ReplicaId, reachable: boolean): void;
  /** A timer of this replica due at `due` ran at `now`: nothing of it ran in between. */
  ran(due: number, now: number): void;
  /** A record written by another replica arrived. */
  heard(): void;
  /**
   * When this replica last woke from a stall (-Infinity: never). Records written before reach it
   * late by the stall, which says nothing of how long the mesh takes to deliver.
   */
  wokeAt(): number;
  /**
   * Until when this replica holds after a stall or while cut off (its clock); -Infinity when it
   * does not.
   */
  holdUntil(): number;
  /** Whether a node went or came back, or a hold ended early, since the last call: tasks may change hands. */
  takeChanged(): boolean;
  /** Changes whenever a node becomes reachable or unreachable: what `alive` answers may have changed. */
  readonly version: number;
}

/** Longest hold after a stall, in leases: a node alone after a long stall still takes over. */
export const MAX_HOLD_LEASES = 10;

export interface LivenessOptions {
  readonly presence: PresenceChannel;
  readonly replica: ReplicaId;
  readonly now: () => number;
  /** Least lateness of a timer that counts as a stall. */
  readonly stallMs: number;
  /** Longest hold, however long the stall. */
  readonly maxHoldMs: number;
  /** The settle window: how long what a link brings takes to arrive. */
  readonly settleMs: () => number;
  /** Records read within this long of waking had waited for it: no news of live links. */
  readonly drainMs: number;
  /** Told of each stall as this replica wakes, and when nodes lost in its wake begin a longer hold. */
  readonly onStall?: (stall: CoordinatorEvent<'stalled'>) => void;
  /** Told when this replica loses every other node at once and holds. */
  readonly onIsolated?: (isolation: CoordinatorEvent<'isolated'>) => void;
}

export function createLiveness(o: LivenessOptions): Liveness {
  const { presence, replica, now } = o;
  /** Whether each node membership told of was last reachable; a node gone is false. */
  const reachable = new Map<ReplicaId, boolean>();
  const goneAt = new Map<ReplicaId, number>();
  let changed = false;
  let version = 0;
  /** The last stall: from when this replica ran nothing, to when it woke. */
  let stall = { from: Infinity, to: -Infinity };
  /** Until when nodes lost in a stall's wake hold this replica. */
  let holdUntil = -Infinity;
  /** Until when this replica waits for news after a stall or isolation; -Infinity once it came. */
  let newsDue = -Infinity;
  /**
   * Records arriving before this time do not count as news: they waited out a stall. Infinity
   * while this replica, having lost every other node at once, has reached none since.
   */
  let newsFrom = -Infinity;
  const isolated = (): boolean => newsFrom === Infinity;
  const holdFor = (): number => Math.min(stall.to - stall.from, o.maxHoldMs);
  /** Until when this replica holds: news or nodes lost after its last stall, whichever is later. */
  const holdEnd = (): number => Math.max(holdUntil, newsDue);

  /** Whether the nodes lost since the last stall began outnumber those reachable now. */
  function cutOff(): boolean {
    let reach = 0;
    let lostInWake = 0;
    for (const [node, isReachable] of reachable) {
      if (isReachable) reach++;
      else if ((goneAt.get(node) ?? -Infinity) >= stall.from) lostInWake++;
    }
    return lostInWake > reach;
  }

  /**
   * How many nodes this replica lost within the settle window before `t` (those that said goodbye
   * aside), if it reaches none now; 0 if it reaches any.
   */
  function lostTogether(t: number): number {
    const since = t - o.settleMs();
    let together = 0;
    for (const [node, isReachable] of reachable) {
      if (isReachable) return 0;
      const at = goneAt.get(node);
      if (at !== undefined && at >= since && presence.status(node) !== 'left') together++;
    }
    return together;
  }

  /** Every other node lost at once at `t`: hold until one is reachable again and news came. */
  function isolate(t: number, lost: number): void {
    const until = t + o.maxHoldMs;
    holdUntil = Math.max(holdUntil, until);
    newsDue = Math.max(newsDue, until);
    newsFrom = Infinity;
    o.onIsolated?.({ at: t, lost, holdUntil: holdEnd() });
  }

  /** A node lost at `t`: in the wake of a stall (as long again as the stall), a reason to hold. */
  function lost(t: number): void {
    if (t > stall.to + (stall.to - stall.from)) return;
    const until = t + (cutOff() ? o.maxHoldMs : holdFor());
    if (until <= holdUntil) return;
    const began = t >= holdUntil;
    holdUntil = until;
    if (began) o.onStall?.({ ...stall, holdUntil, reason: 'lost-nodes' });
  }

  return {
    alive: (node) => node === replica || presence.status(node) === 'alive',
    gone: (node) => node !== replica && reachable.get(node) === false,
    goneSince(node) {
      const since = node === replica ? undefined : goneAt.get(node);
      return since !== undefined && since >= stall.from ? Math.max(since, holdUntil) : since;
    },
    observe(node, isReachable) {
      const before = reachable.get(node);
      if (before === isReachable) return;
      reachable.set(node, isReachable);
      const t = now();
      if (isReachable) {
        goneAt.delete(node);
        // Records from now on come over a live link: news of the mesh.
        if (isolated()) newsFrom = t;
        // Heard from the mesh again: what that link brings arrives within the settle window.
        if (t < holdUntil && !cutOff()) holdUntil = Math.min(holdUntil, t + o.settleMs());
      } else {
        goneAt.set(node, t);
        if (t >= stall.to) lost(t);
        const together = isolated() ? 0 : lostTogether(t);
        if (together > 1) isolate(t, together);
      }
      version++;
      // A node first heard of is not one that came back.
      if (before !== undefined || !isReachable) changed = true;
    },
    ran(due, t) {
      // Timers due in one stall fire together, the most overdue first: it told of the stall.
      if (t - due < o.stallMs || due <= stall.to) return;
      stall = { from: due, to: t };
      newsDue = Math.max(newsDue, t + holdFor());
      if (!isolated()) newsFrom = t + o.drainMs;
      o.onStall?.({ ...stall, holdUntil: holdEnd(), reason: 'woke' });
    },
    heard() {
      const t = now();
      if (t < newsFrom || newsDue === -Infinity) return;
      // Tasks put off until the hold's end are looked at again now.
      if (t < newsDue) changed = true;
      newsDue = -Infinity;
    },
    wokeAt: () => stall.to,
    holdUntil: holdEnd,
    takeChanged() {
      const was = changed;
      changed = false;
      return was;
    },
    get version() {
      return version;
    },
  };
}
