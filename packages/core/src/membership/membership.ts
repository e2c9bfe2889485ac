import { Writer } from '../codec/writer.ts';
import { sameBytes } from '../codec/same-bytes.ts';
import { writeValue } from '../codec/value.ts';
import type { ReplicaId } from '../replica.ts';
import { InvalidArgumentError } from '../types/errors.ts';
import { decodeFrame, encodeFrame } from './frames.ts';
import { isPresenceState, supersedes, writeClaim, type MemberRecord } from './member-record.ts';
import { createDigestRepair } from './digest-repair.ts';
import { createMemberTable, reachableFrom } from './member-table.ts';
import type { MemberStatus, PresenceChannel, PresenceState } from './presence-channel.ts';
import { createPresenceListeners } from './presence-listeners.ts';
import { createLocalHealth } from './local-health.ts';
import { createPhiDetector, type PhiOptions } from './phi.ts';
import { createRecordOutbox, TABLE_CHUNK } from './record-outbox.ts';

/** Virtual or real time; the simulation and the transport each pass their own. */
export interface MembershipTimers {
  now(): number;
  setTimer(fn: () => void, ms: number): () => void;
}

/** What membership needs from a network: frames to directly connected neighbours. */
export interface MembershipLinks {
  send(peer: ReplicaId, frame: Uint8Array): void;
  /**
   * The link to `peer` has carried nothing for `silentMs` (past `closeSilentLinkMs`, beyond the
   * lag allowed for): close it, so that the topology replaces it and the peer is redialled.
   * Without it such a link stays open, not live.
   */
  close?(peer: ReplicaId, silentMs: number): void;
}

export type MembershipRejectReason = 'malformed' | 'forged' | 'full';

export interface MembershipOptions {
  readonly self: ReplicaId;
  readonly timers: MembershipTimers;
  readonly links: MembershipLinks;
  /** Heartbeat interval on each link. Default 500 ms. */
  readonly probeIntervalMs?: number;
  /**
   * How often each link is judged: a silent link is found within this long of phi crossing its
   * threshold. Judging sends nothing. At most the heartbeat interval; default half of it.
   */
  readonly checkIntervalMs?: number;
  /**
   * Link changes within this long are announced together; a closed connection after a quiet
   * spell (nothing announced for this long) is announced at once. Default 50 ms.
   */
  readonly announceDelayMs?: number;
  /** Least time between two full tables sent to one neighbour. Default 1,000 ms. */
  readonly syncIntervalMs?: number;
  /** Most nodes tracked; past it the longest-unreachable record makes room, or a newcomer is refused. Default 10,000. */
  readonly maxMembers?: number;
  /** Largest frame accepted. Default 4 MiB. */
  readonly maxFrameBytes?: number;
  /** Largest state this node may announce, encoded. Default 16 KiB. */
  readonly maxStateBytes?: number;
  /** Phi-accrual on each link's heartbeats; past the threshold the link counts as down. */
  readonly phi?: Partial<PhiOptions>;
  /**
   * Most of a stall allowed for when judging a link: this node's own tick lateness, plus what the
   * neighbour announced of its own (local health, see local-health.ts). Default 8,000 ms.
   */
  readonly maxLagMs?: number;
  /** A link silent this long, beyond the lag allowed for, is closed (`links.close`). Default 10,000 ms. */
  readonly closeSilentLinkMs?: number;
  /**
   * Whether a frame sent over a link arrives, in order, for as long as the link stays up (a
   * stream, as libp2p's): a frame lost means the link went down, and comes up again as a new one.
   * A node then never sends a neighbour, in an answer or back, a record it already sent it over
   * the link. Default false: links may lose frames (the simulation's).
   */
  readonly reliableLinks?: boolean;
  /** Signs this node's records; the transport passes its node key. */
  readonly sign?: (claim: Uint8Array) => Uint8Array;
  /** Checks another node's record; records that fail are refused as forged. */
  readonly verify?: (node: ReplicaId, claim: Uint8Array, proof: Uint8Array) => boolean;
  /** Called for every refused frame or record, for metrics and logs. */
  readonly onReject?: (peer: ReplicaId, reason: MembershipRejectReason, detail: string) => void;
}

/**
 * Link-state membership over a sparse mesh. Each node watches only its own links: a heartbeat
 * per link per probe interval, judged by phi-accrual (or the link closing). It announces the
 * links it hears heartbeats on in its own record, signed, which floods the mesh once (a node
 * forwards a record only when it changed its table). Every node then computes who it can reach
 * over links that both ends confirm: a node that died drops out as its neighbours drop it, and
 * a partition's far side drops out as the links across it do, wherever they are. Records missed
 * in flight are repaired by comparing table digests carried in the heartbeats.
 *
 * Steady-state cost per node is one heartbeat per link per interval, whatever the mesh's size;
 * each change costs each node at most one record per link.
 */
export interface Membership extends PresenceChannel {
  /** A link to `peer` is open: heartbeats start and the tables are exchanged. */
  linkUp(peer: ReplicaId): void;
  /** The link closed (for whatever reason): it no longer counts. */
  linkDown(peer: ReplicaId): void;
  /** A frame from a directly connected peer. Malformed ones are refused, never thrown. */
  receive(peer: ReplicaId, frame: Uint8Array): void;
  record(node: ReplicaId): MemberRecord | undefined;
  /** Neighbours whose heartbeats arrive: this node's live links. */
  neighbours(): ReadonlySet<ReplicaId>;
  /**
   * How late this node's own ticks ran, at most, over the last 10 s (capped at `maxLagMs`): its
   * event loop's recent stall, which its heartbeats announce.
   */
  lagMs(): number;
  /** Announces that this node leaves, then stops. */
  leave(): void;
  stop(): void;
}

/** Reachability is worked out again this long after a record that changes it, so bursts coalesce. */
const REACHABILITY_DELAY_MS = 20;

const sameLinks = (a: readonly ReplicaId[], b: readonly ReplicaId[]): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

function encodedState(state: PresenceState): Uint8Array {
  const w = new Writer();
  writeValue(w, state);
  return w.finish();
}

export function createMembership(o: MembershipOptions): Membership {
  const probeMs = o.probeIntervalMs ?? 500;
  const checkMs = Math.min(o.checkIntervalMs ?? probeMs / 2, probeMs);
  const announceDelayMs = o.announceDelayMs ?? 50;
  const syncMs = o.syncIntervalMs ?? 1_000;
  const maxLagMs = o.maxLagMs ?? 8_000;
  const closeSilentLinkMs = o.closeSilentLinkMs ?? 10_000;
  const maxMembers = o.maxMembers ?? 10_000;
  const maxFrameBytes = o.maxFrameBytes ?? 4 * 1024 * 1024;
  const maxStateBytes = o.maxStateBytes ?? 16 * 1024;
  const { self, timers } = o;

  const table = createMemberTable();
  /** Neighbours with an open link, and those of them whose heartbeats arrive. */
  const linked = new Set<ReplicaId>();
  const live = new Set<ReplicaId>();
  const detector = createPhiDetector({ firstIntervalMs: probeMs, ...o.phi });
  /** Ten seconds of ticks: a stall is allowed for that long after it. */
  const health = createLocalHealth({ windowTicks: Math.ceil(10_000 / checkMs), maxLagMs });
  /** The lag each neighbour announced in its last heartbeat. */
  const peerLag = new Map<ReplicaId, number>();
  let reachable = new Set<ReplicaId>([self]);
  const listeners = createPresenceListeners();
  const reliable = o.reliableLinks ?? false;
  const outbox = createRecordOutbox({ links: o.links, timers, linked, maxFrameBytes, reliable });
  const repair = createDigestRepair({
    table,
    outbox,
    send: (peer, frame) => o.links.send(peer, frame),
    now: () => timers.now(),
    linked,
    probeMs,
    checkMs,
    syncMs,
  });
  let cancelAnnounce: (() => void) | null = null;
  /** When this node last announced its record: a closed connection within the delay of it waits. */
  let lastAnnounced = -Infinity;
  let cancelReachability: (() => void) | null = null;
  let stopped = false;

  /** Tells listeners what changed of `node`, if anything did. */
  function tell(node: ReplicaId): void {
    if (node === self) return;
    const r = table.get(node);
    listeners.tell(node, r !== undefined && r.status === 'alive' && reachable.has(node) ? r.state : null);
  }

  function updateReachability(): void {
    cancelReachability = null;
    if (stopped) return;
    const before = reachable;
    reachable = reachableFrom(self, live, table);
    for (const node of before) if (!reachable.has(node)) tell(node);
    for (const node of reachable) if (!before.has(node)) tell(node);
  }

  const reachabilityChanged = (): void => {
    cancelReachability ??= timers.setTimer(updateReachability, REACHABILITY_DELAY_MS);
  };

  function apply(r: MemberRecord): void {
    repair.tableChanged();
    const before = table.put(r);
    if (before === undefined || before.status !== r.status || !sameLinks(before.links, r.links))
      reachabilityChanged();
    tell(r.node);
  }

  const spread = (records: readonly MemberRecord[], except?: ReplicaId): void => {
    if (records.length === 0 || stopped) return;
    for (const peer of linked) if (peer !== except) outbox.queue(peer, records);
  };

  const claimOf = (r: Omit<MemberRecord, 'proof'>): Uint8Array => {
    const w = new Writer();
    writeClaim(w, r);
    return w.finish();
  };

  /** Incarnations follow the wall clock, so a restart supersedes the previous run. */
  const nextIncarnation = (floor: number): number => Math.max(floor + 1, Math.floor(timers.now()));

  function announce(state: PresenceState, status: 'alive' | 'left' = 'alive', floor = 0): void {
    cancelAnnounce?.();
    cancelAnnounce = null;
    lastAnnounced = timers.now();
    const current = table.get(self);
    const unsigned = {
      node: self,
      incarnation:
        status === 'left'
          ? current!.incarnation
          : nextIncarnation(Math.max(floor, current?.incarnation ?? 0)),
      status,
      state,
      links: status === 'left' ? [] : [...live].sort(),
      at: Math.floor(timers.now()),
    };
    const r: MemberRecord = { ...unsigned, proof: o.sign?.(claimOf(unsigned)) ?? new Uint8Array(0) };
    apply(r);
    spread([r]);
  }

  const own = (): MemberRecord => table.get(self)!;

  /**
   * Announces the live links `announceDelayMs` after a change, once for a burst of changes: a
   * link judged silent, or a new one, may be back or gone again by then (a node waking from a
   * stall judges its links before it reads what waited on them). A connection that closed is a
   * fact (`closed`): announced at once after a quiet spell, so that a neighbour's death reaches
   * the mesh without waiting on a timer, which a busy event loop runs late.
   */
  function linksChanged(closed = false): void {
    reachabilityChanged();
    if (stopped || cancelAnnounce !== null) return;
    const announceLinks = (): void => {
      cancelAnnounce = null;
      if (!sameLinks(own().links, [...live].sort())) announce(own().state);
    };
    if (closed && timers.now() >= lastAnnounced + announceDelayMs) announceLinks();
    else cancelAnnounce = timers.setTimer(announceLinks, announceDelayMs);
  }

  const verified = (r: MemberRecord): boolean =>
    o.verify === undefined || o.verify(r.node, claimOf(r), r.proof);

  /** Room for a newcomer: the record unreachable longest goes, never a reachable one. */
  function makeRoom(): boolean {
    if (table.size < maxMembers) return true;
    let oldest: MemberRecord | undefined;
    for (const r of table.values())
      if (!reachable.has(r.node) && (oldest === undefined || r.at < oldest.at)) oldest = r;
    if (oldest === undefined) return false;
    table.delete(oldest.node);
    listeners.forget(oldest.node);
    return true;
  }

  /**
   * Takes in records from a neighbour: a rumour (records it forwards) or its `answer` to this
   * node's summary. Where a record is older than this node's, the newer goes back, so that one
   * exchange heals both ends; over reliable links only for an answer: this node forwarded its
   * newer version to the neighbour when it took it in, or took it in before the link came up,
   * which the summaries of a new link cover.
   */
  function receiveRecords(from: ReplicaId, records: readonly MemberRecord[], answer: boolean): void {
    const changed: MemberRecord[] = [];
    const newer: MemberRecord[] = [];
    for (const r of records) {
      // The sender holds this version: one queued for it (to forward, or sent back) need not go.
      outbox.heldBy(from, r);
      if (r.node === self) {
        // A record of this node that would replace its own: its previous run's. Supersede it.
        if (supersedes(r, own())) announce(own().state, 'alive', r.incarnation);
        else if (supersedes(own(), r)) newer.push(own());
        continue;
      }
      const current = table.get(r.node);
      if (!supersedes(r, current)) {
        if (current !== undefined && supersedes(current, r)) newer.push(current);
        continue;
      }
      if (!verified(r)) {
        o.onReject?.(from, 'forged', `record of ${r.node} with a bad signature`);
        continue;
      }
      if (current === undefined && !makeRoom()) {
        o.onReject?.(from, 'full', `membership holds ${maxMembers} reachable nodes`);
        continue;
      }
      apply(r);
      changed.push(r);
    }
    spread(changed, from);
    if ((answer || !reliable) && newer.length > 0 && linked.has(from)) outbox.queue(from, newer);
  }

  const heartbeatFrame = (): Uint8Array =>
    encodeFrame({ kind: 'heartbeat', digest: table.digest, lagMs: health.lagMs() });

  /** The heartbeat interval, counted from the clock's zero, that the last heartbeat went in. */
  let beatSlot = -Infinity;

  /**
   * Sends a heartbeat on every link once per `probeMs` of the clock (at once after a stall, with
   * the lag it announces), and judges each link as of when this tick was due, less the lag its
   * neighbour announced: heartbeats that came while this node stalled are not read yet, and a
   * neighbour that stalls sends late. Both are allowed for, up to `maxLagMs` in all.
   */
  function tick(due: number): void {
    if (stopped) return;
    const now = timers.now();
    const late = health.ticked(due, now);
    // A timer may fire a millisecond before the wall clock reaches its due time.
    const slot = Math.floor(Math.max(now, due) / probeMs);
    if (slot !== beatSlot) {
      beatSlot = slot;
      const heartbeat = heartbeatFrame();
      for (const peer of linked) o.links.send(peer, heartbeat);
    }
    repair.tick();
    for (const peer of linked) {
      const at = now - Math.min(maxLagMs, late + (peerLag.get(peer) ?? 0));
      if (live.has(peer) && !detector.isAlive(peer, at)) {
        live.delete(peer);
        linksChanged();
      }
      const last = detector.lastHeard(peer);
      if (o.links.close !== undefined && last !== undefined && at - last > closeSilentLinkMs)
        o.links.close(peer, now - last);
    }
    schedule();
  }

  /**
   * Ticks fall on multiples of `checkMs` of the clock, the same instants on every node of a
   * host (and, with synchronised clocks, of a mesh): a node's neighbours' heartbeats then reach
   * it together and are read in fewer wake-ups of its event loop, which are most of what a small
   * frame costs an idle process.
   */
  const schedule = (): void => {
    const now = timers.now();
    const due = (Math.floor(now / checkMs) + 1) * checkMs;
    cancelTick = timers.setTimer(() => tick(due), due - now);
  };

  announce({});
  let cancelTick = (): void => {};
  schedule();

  return {
    self,
    publish(state) {
      if (stopped) return;
      if (!isPresenceState(state)) throw new InvalidArgumentError('presence state: not a Value object');
      const bytes = encodedState(state);
      if (bytes.byteLength > maxStateBytes)
        throw new InvalidArgumentError(
          `presence state: ${bytes.byteLength} bytes exceed ${maxStateBytes}`,
          'limit_exceeded',
        );
      if (sameBytes(encodedState(own().state), bytes)) return;
      announce(state);
    },
    ...listeners.events.observable(),
    status(node): MemberStatus | undefined {
      const r = table.get(node);
      if (r === undefined) return undefined;
      if (r.status === 'left') return 'left';
      return reachable.has(node) ? 'alive' : 'unreachable';
    },
    members: () => table.keys(),
    record: (node) => table.get(node),
    neighbours: () => live,
    lagMs: () => health.lagMs(),
    linkUp(peer) {
      if (stopped || peer === self) return;
      linked.add(peer);
      live.add(peer);
      outbox.forget(peer);
      detector.forget(peer);
      detector.heard(peer, timers.now());
      o.links.send(peer, heartbeatFrame());
      repair.linkUp(peer);
      linksChanged();
    },
    linkDown(peer) {
      linked.delete(peer);
      repair.linkDown(peer);
      peerLag.delete(peer);
      detector.forget(peer);
      outbox.forget(peer);
      if (live.delete(peer)) linksChanged(true);
    },
    receive(peer, bytes) {
      if (stopped) return;
      let frame;
      try {
        frame = decodeFrame(bytes, {
          maxBytes: maxFrameBytes,
          maxRecords: TABLE_CHUNK,
          maxVersions: maxMembers,
        });
      } catch (err) {
        o.onReject?.(peer, 'malformed', String(err));
        return;
      }
      if (linked.has(peer)) {
        if (frame.kind === 'heartbeat') detector.heartbeat(peer, timers.now());
        else detector.heard(peer, timers.now());
        if (!live.has(peer)) {
          live.add(peer);
          linksChanged();
        }
      }
      if (frame.kind === 'summary') return repair.summaryReceived(peer, frame.versions);
      if (frame.kind === 'answer') repair.answerReceived(peer);
      if (frame.kind !== 'heartbeat') return receiveRecords(peer, frame.records, frame.kind === 'answer');
      if (linked.has(peer)) peerLag.set(peer, frame.lagMs);
      repair.digestHeard(peer, frame.digest);
    },
    leave() {
      if (stopped) return;
      announce({}, 'left');
      outbox.flush();
      this.stop();
    },
    stop() {
      stopped = true;
      cancelTick();
      cancelAnnounce?.();
      cancelReachability?.();
      outbox.stop();
    },
  };
}
