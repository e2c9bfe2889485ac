import type { JSX } from 'preact';
import cytoscape from 'cytoscape';
import { useEffect, useRef } from 'preact/hooks';
import type { Mesh } from '../api/types.ts';

const STATUS_COLOURS: Record<string, string> = { alive: '#2e9e5b', unreachable: '#d9822b', left: '#8a8f98' };

export const shortId = (id: string): string => `…${id.slice(-6)}`;

function elementsOf(mesh: Mesh): cytoscape.ElementDefinition[] {
  return [
    ...mesh.nodes.map((n) => ({
      data: {
        id: n.id,
        label: `${n.name ?? shortId(n.id)}${n.self ? ' (this node)' : ''}\n${n.agents} agents`,
        colour: STATUS_COLOURS[n.status] ?? '#8a8f98',
      },
    })),
    ...mesh.links.map((l) => ({
      data: {
        id: `${l.a}|${l.b}`,
        source: l.a,
        target: l.b,
        label: l.latencyMs === null ? '' : `${l.latencyMs.toFixed(1)} ms`,
      },
      classes: l.confirmed ? '' : 'one-sided',
    })),
  ];
}

/** The mesh drawn with cytoscape: nodes coloured by liveness, links labelled with their round trip. */
export function TopologyGraph({ mesh }: { mesh: Mesh }): JSX.Element {
  const host = useRef<HTMLDivElement>(null);
  const cy = useRef<cytoscape.Core | null>(null);
  const shape = [...mesh.nodes.map((n) => n.id), ...mesh.links.map((l) => `${l.a}|${l.b}`)].join(',');

  useEffect(() => {
    if (host.current === null) return;
    const graph = cytoscape({
      container: host.current,
      elements: elementsOf(mesh),
      style: [
        {
          selector: 'node',
          style: {
            'background-color': 'data(colour)',
            label: 'data(label)',
            'text-wrap': 'wrap',
            'text-valign': 'bottom',
            'text-margin-y': 6,
            color: '#1d2330',
            'font-size': 12,
            width: 36,
            height: 36,
          },
        },
        {
          selector: 'edge',
          style: {
            width: 2,
            'line-color': '#7b8494',
            label: 'data(label)',
            'font-size': 11,
            color: '#44506a',
            'text-background-color': '#ffffff',
            'text-background-opacity': 1,
          },
        },
        // Announced by one end only: coming up or going down.
        { selector: 'edge.one-sided', style: { 'line-style': 'dashed' } },
      ],
      layout: { name: 'circle', padding: 40 },
      userZoomingEnabled: true,
      wheelSensitivity: 0.2,
    });
    cy.current = graph;
    return () => {
      graph.destroy();
      cy.current = null;
    };
    // Laid out again only when nodes or links come or go; labels and colours update in place.
  }, [shape]);

  useEffect(() => {
    const graph = cy.current;
    if (graph === null) return;
    for (const el of elementsOf(mesh)) {
      const found = graph.getElementById(el.data.id!);
      found.data(el.data);
      if (el.classes !== undefined) found.classes(el.classes);
    }
  });

  return <div class="topology" ref={host} />;
}
