import type { JSX } from 'preact';
import type { MeshLink, MeshNode } from '../api/types.ts';
import { StatusBadge } from '../components/status-badge.tsx';
import { shortId, TopologyGraph } from '../components/topology-graph.tsx';
import { VirtualTable } from '../components/virtual-table.tsx';
import { useDashboard } from './context.ts';

const ROW_HEIGHT = 30;
const TABLE_HEIGHT = 420;

/** The whole mesh: nodes with their liveness, links with their round trip where this node knows it. */
export function TopologyView(): JSX.Element {
  const { mesh, nodeName } = useDashboard();
  if (mesh === undefined) return <p class="muted">Loading the mesh…</p>;
  const down = mesh.nodes.filter((n) => n.status !== 'alive').length;
  return (
    <section>
      <h2>
        Topology{' '}
        <span class="muted" id="mesh-count">
          {mesh.nodes.length} nodes, {mesh.links.length} links{down > 0 ? `, ${down} not alive` : ''}
        </span>
      </h2>
      <TopologyGraph mesh={mesh} />
      <div class="columns">
        <VirtualTable<MeshNode>
          class="nodes"
          items={mesh.nodes}
          rowHeight={ROW_HEIGHT}
          maxHeight={TABLE_HEIGHT}
          head={
            <>
              <th>Node</th>
              <th>Peer id</th>
              <th>Status</th>
              <th>Agents</th>
            </>
          }
          row={(n) => (
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
          )}
        />
        <VirtualTable<MeshLink>
          class="links"
          items={mesh.links}
          rowHeight={ROW_HEIGHT}
          maxHeight={TABLE_HEIGHT}
          head={
            <>
              <th>Link</th>
              <th>Both ends</th>
              <th>Round trip</th>
            </>
          }
          row={(l) => (
            <tr key={`${l.a}|${l.b}`} data-link={`${l.a}|${l.b}`}>
              <td>{`${nodeName(l.a)} — ${nodeName(l.b)}`}</td>
              <td>{l.confirmed ? 'yes' : 'one-sided'}</td>
              <td>{l.latencyMs === null ? '—' : `${l.latencyMs.toFixed(1)} ms`}</td>
            </tr>
          )}
        />
      </div>
      <p class="muted">
        Links as each node announces them in the membership; round trips are libp2p's connection pings of this
        node's own links (every 10 s).
      </p>
    </section>
  );
}
