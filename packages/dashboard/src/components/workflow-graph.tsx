import type { JSX } from 'preact';
import dagre, { type Edge, type EdgeLabel, type GraphLabel, type NodeLabel } from '@dagrejs/dagre';
import { useMemo } from 'preact/hooks';
import type { StepState, Task } from '../api/types.ts';

export interface WorkflowStep {
  id: string;
  state: StepState;
  /** The step's tasks (a fan-out step has one per item). */
  tasks: readonly Task[];
}

export interface WorkflowGraphProps {
  steps: readonly WorkflowStep[];
  /** [from, to]: `to` runs after `from`. */
  edges: readonly (readonly [string, string])[];
}

const NODE_W = 170;
const NODE_H = 54;

interface Laid {
  width: number;
  height: number;
  nodes: { step: WorkflowStep; x: number; y: number }[];
  edges: { key: string; points: { x: number; y: number }[] }[];
}

function lay(p: WorkflowGraphProps): Laid {
  const g = new dagre.graphlib.Graph<GraphLabel, NodeLabel, EdgeLabel>();
  g.setGraph({ rankdir: 'LR', nodesep: 24, ranksep: 60, marginx: 12, marginy: 12 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const s of p.steps) g.setNode(s.id, { width: NODE_W, height: NODE_H });
  for (const [from, to] of p.edges) if (g.hasNode(from) && g.hasNode(to)) g.setEdge(from, to);
  dagre.layout(g);
  const label = g.graph();
  return {
    width: label.width ?? 0,
    height: label.height ?? 0,
    nodes: p.steps.map((step) => {
      const n = g.node(step.id);
      return { step, x: n.x ?? 0, y: n.y ?? 0 };
    }),
    edges: g.edges().map((e: Edge) => ({ key: `${e.v}->${e.w}`, points: g.edge(e).points ?? [] })),
  };
}

const countBy = (tasks: readonly Task[]): string => {
  if (tasks.length <= 1) return tasks[0]?.agent ?? '';
  const done = tasks.filter((t) => t.status === 'succeeded').length;
  return `${done}/${tasks.length} tasks done`;
};

/** A run's steps laid out with dagre (left to right), each coloured by its state. */
export function WorkflowGraph(p: WorkflowGraphProps): JSX.Element {
  const laid = useMemo(() => lay(p), [p.steps, p.edges]);
  return (
    <svg class="wfgraph" width={laid.width} height={laid.height} viewBox={`0 0 ${laid.width} ${laid.height}`}>
      <defs>
        <marker
          id="arrow"
          viewBox="0 0 10 10"
          refX="9"
          refY="5"
          markerWidth="7"
          markerHeight="7"
          orient="auto"
        >
          <path d="M0,0 L10,5 L0,10 z" fill="#7b8494" />
        </marker>
      </defs>
      {laid.edges.map((e) => (
        <polyline
          key={e.key}
          points={e.points.map((pt) => `${pt.x},${pt.y}`).join(' ')}
          fill="none"
          stroke="#7b8494"
          stroke-width="1.5"
          marker-end="url(#arrow)"
        />
      ))}
      {laid.nodes.map(({ step, x, y }) => (
        <g key={step.id} class={`wfstep state-${step.state}`} data-step={step.id} data-state={step.state}>
          <rect x={x - NODE_W / 2} y={y - NODE_H / 2} width={NODE_W} height={NODE_H} rx="8" />
          <text x={x} y={y - 6} text-anchor="middle" class="wfstep-name">
            {step.id}
          </text>
          <text x={x} y={y + 12} text-anchor="middle" class="wfstep-detail">
            {step.state}
            {step.tasks.length > 0 ? ` · ${countBy(step.tasks)}` : ''}
          </text>
        </g>
      ))}
    </svg>
  );
}
