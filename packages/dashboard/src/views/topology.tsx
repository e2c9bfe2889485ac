import type { JSX } from 'preact';
import { StatusBadge } from '../components/status-badge.tsx';
import { shortId, TopologyGraph } from '../components/topology-graph.tsx';
import { useDashboard } from './context.ts';

/** The whole mesh: nodes with their liveness, links with their round trip where this node knows it. */
export function TopologyView(): JSX.Element {
  const { mesh, nodeName } = useDashboard();
  if (mesh === undefined) return <p class="muted">Loading the mesh…</p>;
  return (
    <section>
      <h2>Topology</h2>
      <TopologyGraph mesh={mesh} />
      <div class="columns">
        <table class="nodes">
          <thead>
            <tr>
              <th>Node</th>
              <th>Peer id</th>
              <th>Status</th>
              <th>Agents</th>
            </tr>
          </thead>
          <tbody>
            {mesh.nodes.map((n) => (
              <tr key={n.id} data-node={n.id} data-status={n.status}>
                <td>
                  {nodeName(n.id)}
                  {n.self ? ' (this node)' : ''}
                </td>
                <td class="mono" title={n.id}>
                  {shortId(n.id)}
                </td>
                <td>
                  <StatusBadge status={n.status} />
                </td>
                <td>{n.agents}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <table class="links">
          <thead>
            <tr>
              <th>Link</th>
              <th>Both ends</th>
              <th>Round trip</th>
            </tr>
          </thead>
          <tbody>
            {mesh.links.map((l) => (
              <tr key={`${l.a}|${l.b}`}>
                <td>{`${nodeName(l.a)} — ${nodeName(l.b)}`}</td>
                <td>{l.confirmed ? 'yes' : 'one-sided'}</td>
                <td>{l.latencyMs === null ? '—' : `${l.latencyMs.toFixed(1)} ms`}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p class="muted">
        Links as each node announces them in the membership; round trips are libp2p's connection pings of this
        node's own links (every 10 s).
      </p>
    </section>
  );
}
