import type { JSX } from 'preact';
import cytoscape from 'cytoscape';
import { useEffect, useRef } from 'preact/hooks';
import type { Mesh } from '../api/types.ts';

/** Up to this many nodes sit on a circle; more are placed by force (a circle of 50 is a hairball). */
const CIRCLE_MAX = 12;

const STATUS_COLOURS: Record<string, string> = { alive: '#2e9e5b', unreachable: '#d9822b', left: '#8a8f98' };

export const shortId = (id: string): string => `…${id.slice(-6)}`;

function elementsOf(mesh: Mesh): cytoscape.ElementDefinition[] {
  // A large mesh's nodes carry their name only: its agent counts are in the table below.
  const large = mesh.nodes.length > CIRCLE_MAX;
  return [
    ...mesh.nodes.map((n) => ({
      data: {
        id: n.id,
        label: `${n.name ?? shortId(n.id)}${n.self ? ' (this node)' : ''}${large ? '' : `\n${n.agents} agents`}`,
        colour: STATUS_COLOURS[n.status] ?? '#8a8f98',
        status: n.status,
      },
      classes: n.status === 'alive' ? '' : 'down',
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
            // Labels give way when zoomed out too far to read them, instead of overlapping.
            'min-zoomed-font-size': 7,
            // Links crossing a label do not strike it through.
            'text-background-color': '#ffffff',
            'text-background-opacity': 0.75,
            'text-background-padding': '1px',
            width: 36,
            height: 36,
          },
        },
        {
          selector: 'node.down',
          style: { 'border-width': 3, 'border-color': '#5c1f1f', 'border-style': 'dashed' },
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
            'min-zoomed-font-size': 12,
          },
        },
        // Announced by one end only: coming up or going down.
        { selector: 'edge.one-sided', style: { 'line-style': 'dashed' } },
      ],
      layout:
        mesh.nodes.length <= CIRCLE_MAX
          ? { name: 'circle', padding: 40 }
          : {
              name: 'cose',
              animate: false,
              randomize: false,
              padding: 30,
              nodeRepulsion: () => 1_000_000,
              idealEdgeLength: () => 110,
              nodeOverlap: 20,
              numIter: 1500,
            },
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
    // What is drawn, for a reader of the page that cannot see the canvas (a test, a screen reader).
    const dataset = host.current!.dataset;
    dataset.nodes = String(graph.nodes().length);
    dataset.links = String(graph.edges().length);
    dataset.down = String(graph.nodes('.down').length);
  });

  return <div class={`topology${mesh.nodes.length > CIRCLE_MAX ? ' large' : ''}`} ref={host} />;
}
