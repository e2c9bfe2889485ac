import type { JSX } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartSeries {
  label: string;
  color: string;
  values: (number | null)[];
}

export interface LineChartProps {
  title: string;
  /** Seconds since the epoch, one per point. */
  times: number[];
  series: ChartSeries[];
  height?: number;
  /** Bars for counts per bucket, lines for levels. */
  bars?: boolean;
  /** The series' names under the chart (default true); too many would push the chart away. */
  legend?: boolean;
}

/** A uPlot chart; rebuilt when the set of series changes, else fed new data in place. */
export function LineChart(p: LineChartProps): JSX.Element {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = p.series.map((s) => s.label).join('\u0000');
  const data = (): uPlot.AlignedData => [p.times, ...p.series.map((s) => s.values)];

  useEffect(() => {
    const el = host.current;
    if (el === null) return;
    const paths = p.bars === true ? uPlot.paths.bars?.({ size: [0.8, 40] }) : undefined;
    const chart = new uPlot(
      {
        title: p.title,
        width: Math.max(300, el.clientWidth),
        height: p.height ?? 200,
        legend: { show: p.legend ?? true },
        series: [
          {},
          ...p.series.map((s) => ({
            label: s.label,
            stroke: s.color,
            fill: p.bars === true ? `${s.color}88` : undefined,
            width: 2,
            spanGaps: false,
            // A lone value between gaps shows as a point, not as nothing.
            points: { show: p.bars !== true, size: 5 },
            ...(paths !== undefined ? { paths } : {}),
          })),
        ],
        axes: [{}, { size: 50 }],
      },
      data(),
      el,
    );
    plot.current = chart;
    const resize = new ResizeObserver(() =>
      chart.setSize({ width: Math.max(300, el.clientWidth), height: p.height ?? 200 }),
    );
    resize.observe(el);
    return () => {
      resize.disconnect();
      chart.destroy();
      plot.current = null;
    };
    // Rebuilt only when the series themselves change; new values go through setData below.
  }, [shape, p.title, p.bars, p.legend]);

  useEffect(() => plot.current?.setData(data()));
  return <div class="chart" ref={host} />;
}
