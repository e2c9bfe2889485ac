import type { JSX } from 'preact';
import type { Activity } from '../api/types.ts';
import { ErrorNote } from '../components/error-note.tsx';
import { LineChart } from '../components/line-chart.tsx';
import { usePolled } from '../state/hooks.ts';
import { useDashboard } from './context.ts';

const WINDOW_MS = 15 * 60_000;

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

/** Throughput, submit→start latency, failovers and duplicate starts of the mesh over the last 15 minutes. */
export function ChartsView(): JSX.Element {
  const { client } = useDashboard();
  const { data, error } = usePolled<Activity>(client, `/v1/activity?windowMs=${WINDOW_MS}`, 5_000);
  if (data === undefined)
    return error !== undefined ? <ErrorNote error={error} /> : <p class="muted">Loading activity…</p>;
  const times = data.at.map((t) => t / 1000);
  const perSecond = (xs: number[]): number[] => xs.map((x) => x / (data.bucketMs / 1000));
  return (
    <section>
      <h2>Activity</h2>
      <ErrorNote error={error} />
      <p class="muted" id="activity-totals">
        Last {WINDOW_MS / 60_000} min, {data.bucketMs / 1000} s buckets: {sum(data.succeeded)} succeeded,{' '}
        {sum(data.failed)} failed, {sum(data.starts)} starts, {sum(data.failovers)} failovers,{' '}
        {sum(data.duplicateStarts)} duplicate starts.
      </p>
      <div class="columns">
        <LineChart
          title="Throughput (attempts ended per second)"
          bars
          times={times}
          series={[
            { label: 'succeeded', color: '#2e9e5b', values: perSecond(data.succeeded) },
            { label: 'failed', color: '#c93b3b', values: perSecond(data.failed) },
          ]}
        />
        <LineChart
          title="Submit → start latency (ms)"
          times={times}
          series={[
            { label: 'mean', color: '#3b6fd8', values: data.submitToStartMeanMs },
            { label: 'max', color: '#d9822b', values: data.submitToStartMaxMs },
          ]}
        />
        <LineChart
          title="Failovers and duplicate starts (per bucket)"
          bars
          times={times}
          series={[
            { label: 'failovers', color: '#a04bc4', values: data.failovers },
            { label: 'duplicate starts', color: '#c93b3b', values: data.duplicateStarts },
          ]}
        />
      </div>
      <p class="muted">
        From /v1/activity: every task the mesh still holds and its attempts. A duplicate start is a start
        beyond a task's first (retries included); a failover one that took over from a lost holder.
      </p>
    </section>
  );
}
