import type { ReplicaId } from '../replica.ts';
import { encodeFrame } from './frames.ts';
import type { VersionHash } from './member-record.ts';
import type { MemberTable } from './member-table.ts';
import type { RecordOutbox } from './record-outbox.ts';

/** A digest that differs this soon after a change of this node's table is not yet a gap. */
const IN_FLIGHT_MS = 100;

/**
 * Repairs the records a node missed in flight. Each heartbeat carries the sender's table digest;
 * a neighbour whose digest differs is sent a summary (the versions this node holds) and answers
 * with the records the summary lacks, and records this node holds newer go back with them
 * (`receiveRecords` in membership.ts), so one exchange heals both ends.
 */
export interface DigestRepair {
  /** A link to `peer` opened, after its first heartbeat went: compares digests from the start. */
  linkUp(peer: ReplicaId): void;
  linkDown(peer: ReplicaId): void;
  /** This node's table changed: a digest that differs right after may be in flight. */
  tableChanged(): void;
  /** The digest in `peer`'s heartbeat. */
  digestHeard(peer: ReplicaId, digest: readonly [number, number]): void;
  /** `peer` asked for what it lacks. */
  summaryReceived(peer: ReplicaId, versions: readonly VersionHash[]): void;
  /** `peer` answered this node's summary (a rumour from it is no answer). */
  answerReceived(peer: ReplicaId): void;
  /** The membership's tick: summaries that got no answer go again. */
  tick(): void;
}

export function createDigestRepair(deps: {
  readonly table: MemberTable;
  readonly outbox: RecordOutbox;
  readonly send: (peer: ReplicaId, frame: Uint8Array) => void;
  readonly now: () => number;
  /** Neighbours with an open link. */
  readonly linked: ReadonlySet<ReplicaId>;
  readonly probeMs: number;
  readonly checkMs: number;
  readonly syncMs: number;
}): DigestRepair {
  const { table, outbox, send, now, linked, probeMs, checkMs, syncMs } = deps;
  /** When this node's table last changed. */
  let lastChange = -Infinity;
  /** When this node last sent each neighbour a summary, and last answered one of theirs. */
  const lastSummarySent = new Map<ReplicaId, number>();
  const lastAnswered = new Map<ReplicaId, number>();
  /** When each neighbour last answered a summary. */
  const answeredAt = new Map<ReplicaId, number>();
  /** A summary from a peer this node has no link to yet, answered once it has. */
  const unanswered = new Map<ReplicaId, readonly VersionHash[]>();
  /**
   * The digest each neighbour sent last. A new link sends a heartbeat at once, and a summary
   * only once the peer's digest differs: two nodes of a settled mesh link up for nothing.
   */
  const heard = new Map<ReplicaId, readonly [number, number]>();
  /** Linked neighbours not heard from since: the first digest they send is compared at once. */
  const awaitingDigest = new Set<ReplicaId>();
  /** Neighbours whose last heartbeat's digest differed from this node's. */
  const differing = new Set<ReplicaId>();

  /**
   * At most one summary to a peer on its heartbeats each half sync interval less a quarter
   * heartbeat: heartbeats arrive on the peer's beat, give or take the network's jitter, which
   * must not stretch the interval to the next heartbeat.
   */
  const summaryGapMs = syncMs / 2 - probeMs / 4;
  /**
   * At most one answer to a peer's summaries each half summary gap: a summary that got no answer
   * is sent again at the next tick, and must be answered when it was the answer that was lost.
   */
  const answerGapMs = summaryGapMs / 2;

  const sameDigest = (d: readonly [number, number]): boolean =>
    d[0] === table.digest[0] && d[1] === table.digest[1];

  /** Asks `peer` for what this node lacks: the versions it holds, which the peer answers. */
  const sendSummary = (peer: ReplicaId): void =>
    send(peer, encodeFrame({ kind: 'summary', versions: table.versions() }));

  const askFor = (peer: ReplicaId, at: number): void => {
    lastSummarySent.set(peer, at);
    sendSummary(peer);
  };

  /**
   * The records `peer` lacks by its summary. At most one answer per answer gap: a summary is
   * small and the answer may be the whole table, which a peer must not be able to ask for at
   * will. A summary dropped here is sent again on the next mismatch.
   */
  function answer(peer: ReplicaId, versions: readonly VersionHash[]): void {
    // The peer's link may open before this node's link to it: the answer waits for that.
    if (!linked.has(peer)) {
      unanswered.set(peer, versions);
      return;
    }
    const at = now();
    if (at - (lastAnswered.get(peer) ?? -Infinity) < answerGapMs) return;
    lastAnswered.set(peer, at);
    outbox.answer(peer, table.missingFrom(versions));
  }

  return {
    linkUp(peer) {
      lastSummarySent.delete(peer);
      lastAnswered.delete(peer);
      const theirs = heard.get(peer);
      if (theirs === undefined) awaitingDigest.add(peer);
      else if (!sameDigest(theirs)) sendSummary(peer);
      const summary = unanswered.get(peer);
      unanswered.delete(peer);
      if (summary !== undefined) answer(peer, summary);
    },
    linkDown(peer) {
      lastSummarySent.delete(peer);
      lastAnswered.delete(peer);
      answeredAt.delete(peer);
      unanswered.delete(peer);
      heard.delete(peer);
      awaitingDigest.delete(peer);
      differing.delete(peer);
    },
    tableChanged() {
      lastChange = now();
    },
    digestHeard(peer, digest) {
      heard.set(peer, digest);
      const first = awaitingDigest.delete(peer);
      if (sameDigest(digest)) {
        differing.delete(peer);
        return;
      }
      const at = now();
      // The first digest on a new link: a newcomer gets what it lacks without waiting.
      if (first) return askFor(peer, at);
      // Right after a change the peer may not have it yet: records in flight are not a gap. A
      // digest that differed at the peer's previous heartbeat too is one, whatever came since:
      // on a mesh that keeps changing (a large one, a lossy one) this node's table is seldom
      // still for long, and a lost frame of records would wait for a quiet moment.
      const persisting = differing.has(peer);
      differing.add(peer);
      if (!persisting && at - lastChange < IN_FLIGHT_MS) return;
      if (at - (lastSummarySent.get(peer) ?? -Infinity) < summaryGapMs) return;
      askFor(peer, at);
    },
    summaryReceived: answer,
    answerReceived(peer) {
      answeredAt.set(peer, now());
    },
    tick() {
      // A summary that got no answer by this tick (it, or the answer, was lost) goes again
      // now, not only on the neighbour's next heartbeat, which may be lost too: under loss a node
      // with one or two links waited a heartbeat interval per lost frame.
      const at = now();
      for (const peer of differing) {
        const sent = lastSummarySent.get(peer);
        if (sent === undefined || at - sent < checkMs / 2) continue;
        if ((answeredAt.get(peer) ?? -Infinity) >= sent || sameDigest(heard.get(peer)!)) continue;
        askFor(peer, at);
      }
    },
  };
}
