/**
 * A mesh of coordinator node processes (mesh-node-process.ts) on loopback, for the coordinator
 * bench and the libp2p integration test: forked, dialled into one mesh (fully connected, or
 * along given links), and ready once every node sees every agent alive.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Links } from '../sparse-topology.ts';
import type { Command, Report } from './mesh-node-process.ts';

const script = fileURLToPath(new URL('./mesh-node-process.ts', import.meta.url));

export interface ClusterNode {
  readonly child: ChildProcess;
  addr: string;
  /** Agents this node sees alive, as of its last answer. */
  alive: number;
  /** Peers it is connected to, as of the same answer. */
  peers: number;
  /** Attempts ended on this node. */
  done: number;
  /** CPU time the process has used, user and system. */
  cpuMs: number;
  send(command: Command): void;
}

/** Resolves once `cond` holds; rejects naming `what` when `timeoutMs` passes first. */
export async function until(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Starts `size` nodes, each with two agents of `capacity` that keep finished tasks `retainMs`.
 * Without `links` every node dials every other; with them, each node dials only the nodes
 * listed for it and finds no others (no peer discovery), so the mesh keeps that shape.
 * Nodes are pushed to `into` as they are forked, so a caller can stop them even when starting
 * fails. `onReport` sees every report, besides the counts kept on the node.
 */
export async function startCluster(options: {
  readonly size: number;
  readonly capacity: number;
  readonly retainMs: number;
  readonly links?: Links;
  readonly into: ClusterNode[];
  readonly timeoutMs: number;
  readonly execArgv?: string[];
  readonly onReport?: (node: ClusterNode, report: Report) => void;
}): Promise<void> {
  const nodes = options.into;
  for (let i = 0; i < options.size; i++) {
    const args = [String(i), String(options.capacity), String(options.retainMs)];
    const child = fork(script, options.links === undefined ? args : [...args, 'fixed-links'], {
      execArgv: options.execArgv ?? [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const node: ClusterNode = {
      child,
      addr: '',
      alive: 0,
      peers: 0,
      done: 0,
      cpuMs: 0,
      send: (c) => void child.send(c),
    };
    child.on('message', (r: Report) => {
      if (r.type === 'ready') node.addr = r.addr;
      else if (r.type === 'agents') {
        node.alive = r.alive;
        node.peers = r.peers;
      } else if (r.type === 'done') {
        node.done = r.count;
        node.cpuMs = r.cpuMs;
      }
      options.onReport?.(node, r);
    });
    nodes.push(node);
  }
  await until('nodes to start', () => nodes.every((n) => n.addr !== ''), options.timeoutMs);
  nodes.forEach((n, i) => {
    const targets = options.links?.[i]?.map((t) => nodes[t]!) ?? nodes.filter((m) => m !== n);
    n.send({ cmd: 'dial', addrs: targets.map((m) => m.addr) });
  });
  await until(
    `every node to see all ${options.size * 2} agents alive`,
    () => {
      for (const n of nodes) n.send({ cmd: 'agents' });
      return nodes.every((n) => n.alive === options.size * 2);
    },
    options.timeoutMs,
  );
}
