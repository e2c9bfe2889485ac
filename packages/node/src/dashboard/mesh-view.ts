import type { Coordinator } from '@meshwork/coordinator';
import type { MeshNode } from '@meshwork/transport';
import type { MeshDocument } from '../mesh-state.ts';

export type MeshNodeView = {
  id: string;
  /** The node's configured name, from its agents' metadata; null for a node without agents. */
  name: string | null;
  status: 'alive' | 'unreachable' | 'left';
  self: boolean;
  agents: number;
};

export type MeshLinkView = {
  a: string;
  b: string;
  /** Both ends announce the link (one-sided while it is coming up or going down). */
  confirmed: boolean;
  /** Round trip of libp2p's connection ping; known for this node's own links only. */
  latencyMs: number | null;
};

export type MeshView = { self: string; nodes: MeshNodeView[]; links: MeshLinkView[] };

/**
 * The whole mesh as this node's link-state membership knows it: every member with its status,
 * and every link some member announced, with the round-trip time of those this node holds.
 */
export function meshView(mesh: MeshNode<MeshDocument>, coordinator: Coordinator, selfName: string): MeshView {
  const self = mesh.replica;
  const names = new Map<string, string>([[self, selfName]]);
  const agents = new Map<string, number>();
  for (const agent of coordinator.agents()) {
    if (agent.retired) continue;
    agents.set(agent.node, (agents.get(agent.node) ?? 0) + 1);
    const name = agent.metadata.node;
    if (typeof name === 'string' && !names.has(agent.node)) names.set(agent.node, name);
  }
  const announced = mesh.presence.links();
  const nodes: MeshNodeView[] = [...announced.keys()].sort().map((id) => ({
    id,
    name: names.get(id) ?? null,
    status: mesh.presence.status(id) ?? 'unreachable',
    self: id === self,
    agents: agents.get(id) ?? 0,
  }));
  const rtt = (peer: string): number | null => {
    const times = mesh.libp2p
      .getConnections()
      .filter((c) => c.remotePeer.toString() === peer && c.rtt !== undefined)
      .map((c) => c.rtt!);
    return times.length === 0 ? null : Math.min(...times);
  };
  const links = new Map<string, MeshLinkView>();
  for (const [from, peers] of announced) {
    for (const to of peers) {
      const [a, b] = from < to ? [from, to] : [to, from];
      const key = `${a} ${b}`;
      const known = links.get(key);
      if (known !== undefined) {
        known.confirmed = true;
        continue;
      }
      const peer = a === self ? b : b === self ? a : undefined;
      links.set(key, { a, b, confirmed: false, latencyMs: peer === undefined ? null : rtt(peer) });
    }
  }
  return { self, nodes, links: [...links.values()] };
}
