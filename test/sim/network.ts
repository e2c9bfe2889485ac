import type { PresenceChannel, PresenceState, ReplicaId } from '@meshwork/core';
import type { Clock } from '@meshwork/coordinator';
import type { Rng } from './prng.ts';
import { createSyncedState, type Backend, type Payload, type SyncedState } from './replica.ts';

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
  | { readonly kind: 'presence'; readonly state: PresenceState | null };

/** One incarnation of a node: a crash ends it; a restart makes a new one on the persisted state. */
export interface SimNode {
  readonly id: ReplicaId;
  readonly state: SyncedState;
  readonly presence: PresenceChannel;
  readonly clock: Clock;
  readonly up: boolean;
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
  restart(id: ReplicaId): SimNode;
  readonly stats: { sent: number; delivered: number; dropped: number; duplicated: number };
}

export interface NetworkDeps {
  readonly rng: Rng;
  /** Current time of the network (virtual or real). */
  now(): number;
  /** Runs `fn` after `ms`, independent of any node's life. */
  after(ms: number, fn: () => void): void;
  /** A clock for a new node incarnation; `crash` kills its timers. */
  nodeClock(skewMs: number): Clock & { crash(): void };
  /** Anti-entropy period. */
  readonly antiEntropyMs: number;
  /** What each replica's shared state is built on. */
  readonly backend?: Backend;
  /** Bound of each Document's event log (default: the Document's). */
  readonly logEvents?: number;
}

interface NodeState {
  id: ReplicaId;
  skewMs: number;
  state: SyncedState;
  clock: Clock & { crash(): void };
  listeners: Set<(peer: ReplicaId, state: PresenceState | null) => void>;
  up: boolean;
  group: number;
  view: SimNode;
}

/**
 * A seeded in-memory mesh: gossip of store deltas (relayed once by every node, like a
 * gossip mesh), periodic digest-based anti-entropy that heals losses and partitions, and
 * presence heartbeats, all subject to latency, loss, duplication, reordering and partitions.
 */
export function createSimNetwork(deps: NetworkDeps): SimNetwork {
  const nodes = new Map<ReplicaId, NodeState>();
  let faults = healthy;
  const stats = { sent: 0, delivered: 0, dropped: 0, duplicated: 0 };

  const reachable = (a: NodeState, b: NodeState): boolean => a.up && b.up && a.group === b.group;

  function send(from: NodeState, to: NodeState, msg: Message): void {
    stats.sent++;
    if (!reachable(from, to) || deps.rng.chance(faults.lossRate)) {
      stats.dropped++;
      return;
    }
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
        receive(to, from, msg);
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
      case 'presence':
        for (const l of [...node.listeners]) l(from.id, msg.state);
        return;
    }
  }

  /** What the transport does on every new connection: exchange digests, then whatever the other lacks. */
  function connect(a: NodeState, b: NodeState): void {
    send(a, b, { kind: 'digest', digest: a.state.digest(), reply: true });
  }

  function incarnate(n: NodeState): void {
    n.up = true;
    n.clock = deps.nodeClock(n.skewMs);
    n.listeners = new Set();
    n.state.onLocal((payload) => broadcast(n, { kind: 'delta', payload }));
    const clock = n.clock;
    const antiEntropy = (): void => {
      const peers = [...nodes.values()].filter((p) => p !== n);
      if (peers.length > 0)
        send(n, deps.rng.pick(peers), { kind: 'digest', digest: n.state.digest(), reply: true });
      clock.setTimer(antiEntropy, deps.antiEntropyMs * (0.75 + deps.rng.next() / 2));
    };
    clock.setTimer(antiEntropy, deps.antiEntropyMs * deps.rng.next());
    const listeners = n.listeners;
    const presence: PresenceChannel = {
      self: n.id,
      publish: (state) => {
        if (n.clock === clock) broadcast(n, { kind: 'presence', state });
      },
      onPresence(listener) {
        listeners.add(listener);
        return () => void listeners.delete(listener);
      },
    };
    n.view = {
      id: n.id,
      state: n.state,
      presence,
      clock,
      get up() {
        return n.up && n.clock === clock;
      },
    };
  }

  return {
    addNode(id, skewMs = 0) {
      const n = { id, skewMs, group: 0, up: false, listeners: new Set() } as unknown as NodeState;
      n.state = createSyncedState(deps.backend ?? 'memory', id, () => deps.now() + skewMs, deps.logEvents);
      nodes.set(id, n);
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
        for (const b of nodes.values()) if (a.id < b.id && before.get(a) !== before.get(b)) connect(a, b);
    },
    crash(id) {
      const n = nodes.get(id)!;
      if (!n.up) return;
      n.up = false;
      n.clock.crash();
      n.listeners.clear();
    },
    restart(id) {
      const n = nodes.get(id)!;
      if (n.up) return n.view;
      // The state a durable node reloads from disk.
      n.state = n.state.reload();
      incarnate(n);
      for (const peer of nodes.values()) if (peer !== n) connect(n, peer);
      return n.view;
    },
    stats,
  };
}
