import type { PresenceChannel, ReplicaId } from '@meshwork/core';

/**
 * Which nodes this replica takes to be alive: reachable over live links, by the membership behind
 * `presence` (see @meshwork/core's createMembership).
 *
 * And whether this replica may trust that view. One that stalled (a blocked or starved event loop)
 * was silent to the mesh meanwhile: past about half a lease its neighbours may have taken it for
 * gone, closed its links and moved its tasks on, while it wakes to a view in which everyone else
 * went. Acting on that view it would take their epochs for lapsed and claim as if alone. So after
 * a stall it holds: no claim, no start, no other node's epoch declared lost, until it has heard
 * from the mesh again (a node reachable after the stall, plus the settle window for what that
 * link brings) or for as long as it stalled, whichever comes first. A node that is really alone
 * then goes on alone, as after a partition.
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
  /**
   * A timer of this replica due at `due` ran at `now`: the replica ran nothing in between. Past
   * `stallMs` that is a stall, and the replica holds (see above). Returns whether it was a new
   * one (not one another timer told of already).
   */
  ran(due: number, now: number): boolean;
  /** Until when this replica holds after a stall (its clock); -Infinity when it never stalled. */
  holdUntil(): number;
  /** Whether a node went or came back since the last call: its tasks may change hands. */
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
  /** Longest hold after a stall, however long the stall. */
  readonly maxHoldMs: number;
  /** The settle window: how long what a link brings takes to arrive. */
  readonly settleMs: () => number;
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
  let holdUntil = -Infinity;
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
      if (isReachable) goneAt.delete(node);
      else goneAt.set(node, t);
      // Heard from the mesh since waking: what that link brings arrives within the settle window.
      if (isReachable && t >= stall.to && t < holdUntil) {
        holdUntil = Math.min(holdUntil, t + o.settleMs());
        changed = true;
      }
      version++;
      // A node first heard of is not one that came back.
      if (before !== undefined || !isReachable) changed = true;
    },
    ran(due, t) {
      const late = t - due;
      if (late < o.stallMs) return false;
      // Timers due in one stall fire together, the most overdue first: it told of the stall.
      if (due <= stall.to) return false;
      stall = { from: due, to: t };
      holdUntil = Math.max(holdUntil, t + Math.min(late, o.maxHoldMs));
      return true;
    },
    holdUntil: () => holdUntil,
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
