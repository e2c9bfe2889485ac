import type { JSX } from 'preact';
import type { Attempt } from '../api/types.ts';

const ROW = 30;
const LABEL_W = 230;
const WIDTH = 900;

export interface AttemptTimelineProps {
  attempts: readonly Attempt[];
  submittedAt: number;
  /** Where a running attempt's bar ends. */
  now: number;
  nodeName: (peer: string) => string;
}

/** A task's attempts as bars on one time axis from its submission: epoch, agent, node, outcome. */
export function AttemptTimeline(p: AttemptTimelineProps): JSX.Element {
  if (p.attempts.length === 0) return <p class="muted">No attempt has started yet.</p>;
  const end = Math.max(p.now, ...p.attempts.map((a) => a.endedAt ?? p.now));
  const span = Math.max(1, end - p.submittedAt);
  const x = (t: number): number => LABEL_W + ((t - p.submittedAt) / span) * (WIDTH - LABEL_W - 10);
  const height = p.attempts.length * ROW + 24;
  return (
    <svg class="timeline" width={WIDTH} height={height} viewBox={`0 0 ${WIDTH} ${height}`}>
      {p.attempts.map((a, i) => {
        const left = x(a.startedAt);
        const right = Math.max(left + 3, x(a.endedAt ?? p.now));
        return (
          <g key={`${a.epoch}-${a.attempt}`} class={`attempt outcome-${a.outcome}`} data-outcome={a.outcome}>
            <text x={4} y={i * ROW + 19} class="attempt-label">
              {`epoch ${a.epoch} · ${a.agent} @ ${p.nodeName(a.node)}`}
            </text>
            <rect x={left} y={i * ROW + 6} width={right - left} height={ROW - 10} rx="3" />
            <text x={Math.min(right + 4, WIDTH - 80)} y={i * ROW + 19} class="attempt-outcome">
              {`${a.outcome}${a.endedAt !== null ? ` ${((a.endedAt - a.startedAt) / 1000).toFixed(2)}s` : ''}`}
            </text>
          </g>
        );
      })}
      <text x={LABEL_W} y={height - 4} class="axis">
        submitted {new Date(p.submittedAt).toLocaleTimeString()}
      </text>
      <text x={WIDTH - 10} y={height - 4} text-anchor="end" class="axis">
        +{(span / 1000).toFixed(2)}s
      </text>
    </svg>
  );
}
