import type { JSX } from 'preact';
import { useRef } from 'preact/hooks';
import type { Agent } from '../api/types.ts';
import { ErrorNote } from '../components/error-note.tsx';
import { LineChart } from '../components/line-chart.tsx';
import { StatusBadge } from '../components/status-badge.tsx';
import { VirtualTable } from '../components/virtual-table.tsx';
import { usePolled } from '../state/hooks.ts';
import { useDashboard } from './context.ts';

/** Samples kept per agent: ten minutes at one every two seconds. */
const HISTORY = 300;
const POLL_MS = 2_000;
const ROW_HEIGHT = 32;
const TABLE_HEIGHT = 480;
/** Beyond this many agents the charts go without their legend, which would push them off the page. */
const LEGEND_MAX = 12;
const PALETTE = ['#3b6fd8', '#2e9e5b', '#d9822b', '#a04bc4', '#c93b3b', '#1a9aa6', '#7a6f1e', '#d14d8b'];

interface Samples {
  times: number[];
  successRate: Map<string, (number | null)[]>;
  latency: Map<string, (number | null)[]>;
}

const successRate = (a: Agent): number | null => {
  const n = a.stats.successes + a.stats.failures;
  return n === 0 ? null : a.stats.successes / n;
};

/** Appends one poll's figures, keeping the last HISTORY samples aligned across agents. */
function record(samples: Samples, agents: readonly Agent[], at: number): void {
  samples.times.push(at / 1000);
  const seen = new Set<string>();
  for (const a of agents) {
    seen.add(a.id);
    for (const [series, value] of [
      [samples.successRate, successRate(a)],
      [samples.latency, a.stats.meanLatencyMs],
    ] as const) {
      let values = series.get(a.id);
      if (values === undefined)
        series.set(a.id, (values = new Array<number | null>(samples.times.length - 1).fill(null)));
      values.push(value);
    }
  }
  for (const series of [samples.successRate, samples.latency])
    for (const [id, values] of series) if (!seen.has(id)) values.push(null);
  if (samples.times.length > HISTORY) {
    samples.times.shift();
    for (const series of [samples.successRate, samples.latency])
      for (const values of series.values()) values.shift();
  }
}

/** Every agent of the mesh: capabilities, load against capacity, liveness, health and its record over time. */
export function AgentsView(): JSX.Element {
  const { client, nodeName } = useDashboard();
  const { data, error } = usePolled<Agent[]>(client, '/v1/agents', POLL_MS);
  const samples = useRef<Samples>({ times: [], successRate: new Map(), latency: new Map() });
  const lastRecorded = useRef<Agent[] | undefined>(undefined);
  // Recorded once per poll answer (not per render), before the charts below read the samples.
  if (data !== undefined && data !== lastRecorded.current) {
    lastRecorded.current = data;
    record(samples.current, data, Date.now());
  }
  if (data === undefined)
    return error !== undefined ? <ErrorNote error={error} /> : <p class="muted">Loading agents…</p>;
  const agents = [...data].sort((a, b) => (a.id < b.id ? -1 : 1));
  const colour = (i: number): string => PALETTE[i % PALETTE.length]!;
  const chartOf = (series: Map<string, (number | null)[]>) =>
    agents.map((a, i) => ({ label: a.id, color: colour(i), values: series.get(a.id) ?? [] }));
  return (
    <section>
      <h2>
        Agents{' '}
        <span class="muted" id="agent-count">
          {agents.length} agents
        </span>
      </h2>
      <ErrorNote error={error} />
      <VirtualTable<Agent>
        class="agents"
        items={agents}
        rowHeight={ROW_HEIGHT}
        maxHeight={TABLE_HEIGHT}
        head={
          <>
            <th>Agent</th>
            <th>Node</th>
            <th>Capabilities</th>
            <th>Load</th>
            <th>Live</th>
            <th>Success rate</th>
            <th>Mean latency</th>
            <th>Health</th>
          </>
        }
        row={(a) => {
          const rate = successRate(a);
          return (
            <tr key={a.id} data-agent={a.id}>
              <td>{a.id}</td>
              <td>{nodeName(a.node)}</td>
              <td>{a.capabilities.join(', ') || '—'}</td>
              <td>
                <div class="meter" title={`${a.load} of ${a.capacity}`}>
                  <div
                    style={{ width: `${a.capacity > 0 ? Math.min(100, (a.load / a.capacity) * 100) : 0}%` }}
                  />
                </div>
                {` ${a.load}/${a.capacity}`}
              </td>
              <td>
                <StatusBadge status={a.retired ? 'retired' : a.live ? 'live' : 'down'} />
              </td>
              <td>
                {rate === null
                  ? '—'
                  : `${(rate * 100).toFixed(0)}% of ${a.stats.successes + a.stats.failures}`}
              </td>
              <td>{a.stats.meanLatencyMs === null ? '—' : `${a.stats.meanLatencyMs.toFixed(0)} ms`}</td>
              <td>
                {a.health.degraded ? (
                  <span class="badge status-degraded" title={a.health.reason ?? ''}>
                    degraded: {a.health.reason}
                  </span>
                ) : (
                  <span class="badge status-healthy">healthy</span>
                )}
              </td>
            </tr>
          );
        }}
      />
      <div class="columns">
        <LineChart
          title="Success rate"
          times={samples.current.times}
          series={chartOf(samples.current.successRate)}
          legend={agents.length <= LEGEND_MAX}
        />
        <LineChart
          title="Mean latency (ms)"
          times={samples.current.times}
          series={chartOf(samples.current.latency)}
          legend={agents.length <= LEGEND_MAX}
        />
      </div>
      <p class="muted">Sampled from /v1/agents every {POLL_MS / 1000} s while this page is open.</p>
    </section>
  );
}
