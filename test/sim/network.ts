import { createMembership, type Membership, type MembershipOptions, type ReplicaId } from '@meshwork/core';
import type { Clock } from '@meshwork/coordinator';
import type { Rng } from './prng.ts';
import type { NodeClock } from './scheduler.ts';
import { createSyncedState, type Backend, type Payload, type SyncedState } from './replica.ts';
import type { Links } from './topology.ts';

/** Message faults; all randomness comes from the network's seeded generator. */
export interface Faults {
  readonly lossRate: number;
  readonly duplicateRate: number;
  readonly minLatencyMs: number;
  readonly maxLatencyMs: number;
}

export const healthy: Faults = { lossRate: 0, duplicateRate: 0, minLatencyMs: 1, maxLatencyMs: 10 };

type Message =
  | { readonly kind: 'delta'; readonly payload: Payload }
  | { readonly kind: 'digest'; readonly digest: Payload; readonly reply: boolean }
  | { readonly kind: 'repair'; readonly payload: Payload }
  | { readonly kind: 'membership'; readonly frame: Uint8Array };

/** One incarnation of a node: a crash ends it; a restart makes a new one on the persisted state. */
export interface SimNode {
  readonly id: ReplicaId;
  readonly state: SyncedState;
  readonly presence: Membership;
  readonly clock: Clock;
  readonly up: boolean;
}

/** What a node floods over a sparse mesh: a delta. */
interface Flooded {
  readonly kind: 'delta';
  readonly origin: NodeState;
  readonly payload: Payload;
}

/** Messages sent per kind, each hop counted, lost ones too. */
export interface MessageCounts {
  delta: number;
  antiEntropy: number;
  membership: number;
}

export interface SimNetwork {
  addNode(id: ReplicaId, skewMs?: number): SimNode;
  node(id: ReplicaId): SimNode;
  nodes(): SimNode[];
  setFaults(faults: Faults): void;
  /** Splits the nodes into groups that cannot reach each other. */
  partition(groups: readonly (readonly ReplicaId[])[]): void;
  heal(): void;
  /** Stops the node at once: timers die, messages to it are lost. Its state survives, as on disk. */
  crash(id: ReplicaId): void;
  /**
   * Freezes the node for `ms`, as a blocked event loop: it runs nothing and reads nothing, then
   * runs its overdue timers and reads what arrived (see NodeClock.stall).
   */
  stall(id: ReplicaId, ms: number): void;
  /**
   * For the next `forMs`, the records that reach the node (deltas, anti-entropy's repairs) are
   * read `ms` late, as by a reader behind on a backlog; its timers run and its membership frames
   * arrive on time, so the mesh and the node take each other for alive.
   */
  lag(id: ReplicaId, ms: number, forMs: number): void;
  restart(id: ReplicaId): SimNode;
  /** Connected parts of the up nodes but `except`, as links and partitions allow. */
  parts(except?: ReplicaId): number;
  readonly stats: {
    sent: number;
    delivered: number;
    dropped: number;
    duplicated: number;
    readonly messages: MessageCounts;
    /** Messages each node sent, all kinds, by the order nodes were added. */
    readonly sentBy: number[];
  };
}

export interface NetworkDeps {
  readonly rng: Rng;
  /** Current time of the network (virtual or real). */
  now(): number;
  /** Runs `fn` after `ms`, independent of any node's life. */
  after(ms: number, fn: () => void): void;
  /** A clock for a new node incarnation; `crash` kills its timers, `stall` freezes them. */
  nodeClock(skewMs: number): NodeClock;
  /** Anti-entropy period. */
  readonly antiEntropyMs: number;
  /** Membership timing (probe interval, table sync interval), as the transport's options. */
  readonly membership?: Partial<Pick<MembershipOptions, 'probeIntervalMs' | 'syncIntervalMs'>>;
  /** What each replica's shared state is built on. */
  readonly backend?: Backend;
  /** Bound of each Document's event log (default: the Document's). */
  readonly logEvents?: number;
  /**
   * Links between the nodes, by the order they are added. Without it every node reaches every
   * other directly (a full mesh), deltas are relayed once by every node and presence is not.
   */
  readonly links?: Links;
}

interface NodeState {
  id: ReplicaId;
  index: number;
  links: NodeState[];
  skewMs: number;
  state: SyncedState;
  clock: NodeClock;
  membership: Membership;
  up: boolean;
  group: number;
  view: SimNode;
  /** Records reaching the node before `lagUntil` are read `lagMs` late (see SimNetwork.lag). */
  lagUntil: number;
  lagMs: number;
}

/**
 * A seeded in-memory mesh: gossip of store deltas, periodic digest-based anti-entropy that heals
 * losses and partitions, and membership frames between neighbours, all subject to latency, loss, duplication,
 * reordering and partitions. Membership is the real one (@meshwork/core's), run over the links:
 * every node is a neighbour of every other without `links` (a full mesh); with `links` only
 * the linked ones are, and deltas go hop by hop, as on a libp2p mesh: a node forwards
 * one it sees for the first time to its other neighbours and drops the copies that follow
 * (gossipsub's seen cache), and every hop has its own latency, loss and duplication;
 * anti-entropy runs with neighbours.
 */
export function createSimNetwork(deps: NetworkDeps): SimNetwork {
  const nodes = new Map<ReplicaId, NodeState>();
  const byIndex: NodeState[] = [];
  const sparse = deps.links !== undefined;
  let faults = healthy;
  const messages: MessageCounts = { delta: 0, antiEntropy: 0, membership: 0 };
  const sentBy: number[] = [];
  const stats = { sent: 0, delivered: 0, dropped: 0, duplicated: 0, messages, sentBy };

  const reachable = (a: NodeState, b: NodeState): boolean => a.up && b.up && a.group === b.group;
  const kindOf = (msg: Message): keyof MessageCounts =>
    msg.kind === 'delta' ? 'delta' : msg.kind === 'membership' ? 'membership' : 'antiEntropy';

  /** Reads a record that reached `node` now: at once, or `lagMs` late while it lags. */
  function readRecord(node: NodeState, fn: () => void): void {
    const clock = node.clock;
    if (deps.now() < node.lagUntil) deps.after(node.lagMs, () => clock.whenAwake(fn));
    else clock.whenAwake(fn);
  }

  function send(from: NodeState, to: NodeState, msg: Message): void {
    stats.sent++;
    if (!reachable(from, to) || deps.rng.chance(faults.lossRate)) {
      // A node sends nothing over a link that is down; a lost message did go out.
      if (reachable(from, to)) {
        messages[kindOf(msg)]++;
        sentBy[from.index]!++;
      }
      stats.dropped++;
      return;
    }
    messages[kindOf(msg)]++;
    sentBy[from.index]!++;
    const copies = deps.rng.chance(faults.duplicateRate) ? 2 : 1;
    if (copies === 2) stats.duplicated++;
    for (let i = 0; i < copies; i++) {
      const latency = faults.minLatencyMs + deps.rng.next() * (faults.maxLatencyMs - faults.minLatencyMs);
      deps.after(latency, () => {
        // Partitions and crashes that happen while a message is in flight drop it too.
        if (!reachable(from, to)) {
          stats.dropped++;
          return;
        }
        stats.delivered++;
        if (msg.kind === 'delta' || msg.kind === 'repair') readRecord(to, () => receive(to, from, msg));
        else to.clock.whenAwake(() => receive(to, from, msg));
      });
    }
  }

  function broadcast(from: NodeState, msg: Message, except?: ReplicaId): void {
    for (const to of nodes.values()) if (to !== from && to.id !== except) send(from, to, msg);
  }

  function receive(node: NodeState, from: NodeState, msg: Message): void {
    switch (msg.kind) {
      case 'delta':
        if (node.state.merge(msg.payload)) broadcast(node, msg, from.id);
        return;
      case 'digest':
        for (const payload of node.state.missing(msg.digest)) send(node, from, { kind: 'repair', payload });
        if (msg.reply) send(node, from, { kind: 'digest', digest: node.state.digest(), reply: false });
        return;
      case 'repair':
        node.state.merge(msg.payload);
        return;
      case 'membership':
        node.membership.receive(from.id, msg.frame);
        return;
    }
  }

  /**
   * Deltas arriving in a sparse mesh, by the virtual millisecond they arrive in:
   * one event a millisecond delivers them all, since at 1,000 nodes a node hears thousands a second.
   */
  const arriving = new Map<number, { to: NodeState[]; what: Flooded[] }>();
  const frontier = new MinHeap();

  /**
   * Floods a delta over a sparse mesh as gossipsub does: every node forwards the
   * first copy it gets to its other neighbours. Copies travel in virtual time, so a node's first
   * copy is the one on its fastest path; they are worked out here (Dijkstra over the links up
   * now, each hop with its drawn loss, duplication and latency) rather than run as one event per
   * hop, which at 1,000 nodes would be millions of events a second. Each hop counts as a message.
   */
  function flood(what: Flooded): void {
    const start = deps.now();
    const done = new Uint8Array(byIndex.length);
    frontier.push(start, what.origin.index, -1);
    while (frontier.size > 0) {
      const { time, node, from } = frontier.pop();
      if (done[node] === 1) continue;
      done[node] = 1;
      const u = byIndex[node]!;
      if (u !== what.origin) {
        const slot = Math.ceil(time);
        let list = arriving.get(slot);
        if (list === undefined) {
          arriving.set(slot, (list = { to: [], what: [] }));
          deps.after(slot - start, () => deliver(slot));
        }
        list.to.push(u);
        list.what.push(what);
      }
      for (const v of u.links) {
        if (v.index === from || !reachable(u, v)) continue;
        stats.sent++;
        messages[what.kind]++;
        sentBy[node]!++;
        if (deps.rng.chance(faults.lossRate)) {
          stats.dropped++;
          continue;
        }
        if (deps.rng.chance(faults.duplicateRate)) {
          stats.duplicated++;
          messages[what.kind]++;
          sentBy[node]!++;
        }
        if (done[v.index] === 1) continue;
        frontier.push(
          time + faults.minLatencyMs + deps.rng.next() * (faults.maxLatencyMs - faults.minLatencyMs),
          v.index,
          node,
        );
      }
    }
  }

  function deliver(slot: number): void {
    const { to, what } = arriving.get(slot)!;
    arriving.delete(slot);
    for (let i = 0; i < to.length; i++) {
      const node = to[i]!;
      const w = what[i]!;
      // A node that crashed, or was cut off from the sender, meanwhile gets nothing.
      if (!node.up || node.group !== w.origin.group) {
        stats.dropped++;
        continue;
      }
      stats.delivered++;
      readRecord(node, () => node.state.merge(w.payload));
    }
  }

  /** What the transport does on every new connection: exchange digests, then whatever the other lacks. */
  function connect(a: NodeState, b: NodeState): void {
    send(a, b, { kind: 'digest', digest: a.state.digest(), reply: true });
  }

  const neighbours = (n: NodeState): Iterable<NodeState> => (sparse ? n.links : nodes.values());

  function incarnate(n: NodeState): void {
    n.up = true;
    n.clock = deps.nodeClock(n.skewMs);
    n.state.onLocal((payload) => {
      if (!sparse) return broadcast(n, { kind: 'delta', payload });
      flood({ kind: 'delta', origin: n, payload });
    });
    const clock = n.clock;
    const antiEntropy = (): void => {
      const peers = sparse ? n.links : [...nodes.values()].filter((p) => p !== n);
      if (peers.length > 0)
        send(n, deps.rng.pick(peers), { kind: 'digest', digest: n.state.digest(), reply: true });
      clock.setTimer(antiEntropy, deps.antiEntropyMs * (0.75 + deps.rng.next() / 2));
    };
    clock.setTimer(antiEntropy, deps.antiEntropyMs * deps.rng.next());
    const membership = createMembership({
      self: n.id,
      timers: clock,
      links: {
        send: (peer, frame) => {
          if (n.clock === clock) send(n, nodes.get(peer)!, { kind: 'membership', frame });
        },
      },
      ...deps.membership,
    });
    n.membership = membership;
    for (const peer of neighbours(n))
      if (peer !== n && peer.up) {
        membership.linkUp(peer.id);
        peer.membership.linkUp(n.id);
      }
    n.view = {
      id: n.id,
      state: n.state,
      presence: membership,
      clock,
      get up() {
        return n.up && n.clock === clock;
      },
    };
  }

  return {
    addNode(id, skewMs = 0) {
      const index = byIndex.length;
      const n = {
        id,
        index,
        links: [],
        skewMs,
        group: 0,
        up: false,
        lagUntil: -Infinity,
        lagMs: 0,
      } as unknown as NodeState;
      n.state = createSyncedState(deps.backend ?? 'memory', id, () => deps.now() + skewMs, deps.logEvents);
      nodes.set(id, n);
      byIndex.push(n);
      sentBy.push(0);
      // Links to the nodes added before; those to later ones are made when they are added.
      for (const j of deps.links?.[index] ?? [])
        if (j < index) {
          n.links.push(byIndex[j]!);
          byIndex[j]!.links.push(n);
        }
      incarnate(n);
      return n.view;
    },
    node: (id) => nodes.get(id)!.view,
    nodes: () => [...nodes.values()].map((n) => n.view),
    setFaults: (f) => void (faults = f),
    partition(groups) {
      groups.forEach((g, i) => g.forEach((id) => (nodes.get(id)!.group = i + 1)));
    },
    heal() {
      const before = new Map([...nodes.values()].map((n) => [n, n.group]));
      for (const n of nodes.values()) n.group = 0;
      for (const a of nodes.values())
        for (const b of neighbours(a)) if (a.id < b.id && before.get(a) !== before.get(b)) connect(a, b);
    },
    crash(id) {
      const n = nodes.get(id)!;
      if (!n.up) return;
      n.up = false;
      n.clock.crash();
      n.membership.stop();
      // The kernel resets the dead process's connections: its neighbours see them close.
      for (const peer of neighbours(n))
        if (peer !== n && peer.up) {
          const membership = peer.membership;
          const clock = peer.clock;
          deps.after(faults.minLatencyMs, () => clock.whenAwake(() => membership.linkDown(n.id)));
        }
    },
    stall(id, ms) {
      const n = nodes.get(id)!;
      if (n.up) n.clock.stall(ms);
    },
    lag(id, ms, forMs) {
      const n = nodes.get(id)!;
      n.lagUntil = deps.now() + forMs;
      n.lagMs = ms;
    },
    restart(id) {
      const n = nodes.get(id)!;
      if (n.up) return n.view;
      // The state a durable node reloads from disk.
      n.state = n.state.reload();
      incarnate(n);
      for (const peer of neighbours(n)) if (peer !== n) connect(n, peer);
      return n.view;
    },
    parts(except) {
      const seen = new Set<NodeState>(except === undefined ? [] : [nodes.get(except)!]);
      let parts = 0;
      for (const n of nodes.values()) {
        if (!n.up || seen.has(n)) continue;
        parts++;
        seen.add(n);
        const stack = [n];
        for (let u = stack.pop(); u !== undefined; u = stack.pop())
          for (const v of neighbours(u))
            if (!seen.has(v) && reachable(u, v)) {
              seen.add(v);
              stack.push(v);
            }
      }
      return parts;
    },
    stats,
  };
}

/** Binary min-heap of (time, node, from) in parallel arrays: a flood's frontier. */
class MinHeap {
  private readonly times: number[] = [];
  private readonly nodes: number[] = [];
  private readonly froms: number[] = [];
  get size(): number {
    return this.times.length;
  }
  push(time: number, node: number, from: number): void {
    const { times, nodes, froms } = this;
    let i = times.length;
    times.push(time);
    nodes.push(node);
    froms.push(from);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (times[p]! <= time) break;
      times[i] = times[p]!;
      nodes[i] = nodes[p]!;
      froms[i] = froms[p]!;
      i = p;
    }
    times[i] = time;
    nodes[i] = node;
    froms[i] = from;
  }
  pop(): { time: number; node: number; from: number } {
    const { times, nodes, froms } = this;
    const top = { time: times[0]!, node: nodes[0]!, from: froms[0]! };
    const time = times.pop()!;
    const node = nodes.pop()!;
    const from = froms.pop()!;
    const n = times.length;
    if (n === 0) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const c = l + 1 < n && times[l + 1]! < times[l]! ? l + 1 : l;
      if (times[c]! >= time) break;
      times[i] = times[c]!;
      nodes[i] = nodes[c]!;
      froms[i] = froms[c]!;
      i = c;
    }
    times[i] = time;
    nodes[i] = node;
    froms[i] = from;
    return top;
  }
}
