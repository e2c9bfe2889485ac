import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** One measured figure, side by side for every system of a suite. */
export interface Row {
  readonly workload: string;
  readonly metric: string;
  readonly unit: string;
  readonly better: 'higher' | 'lower';
  /** One value per system; null when a system cannot run the workload. */
  readonly values: Record<string, number | null>;
}

export interface SuiteResult {
  readonly suite: string;
  readonly node: string;
  readonly rows: Row[];
}

/** Reports what a suite is doing while it runs: one status line, rewritten in place on a terminal. */
export interface Progress {
  step(label: string): void;
  done(): void;
}

/** What every `bench/suites/<name>.ts` exports as `suite`. */
export interface Suite {
  readonly name: string;
  /** Systems in column order; ratios are given against `baseline`. */
  readonly systems: readonly string[];
  readonly baseline: string;
  run(progress: Progress): Promise<Row[]>;
}

/**
 * Progress lines on `out`: a new phase (the label up to its first ':') at once, steps within a
 * phase at most every 250 ms, so a suite reporting at 100 Hz does not load the machine it measures.
 */
export function createProgress(suite: string, out: NodeJS.WriteStream = process.stderr): Progress {
  const started = performance.now();
  let width = 0;
  let lastPhase = '';
  let lastAt = -Infinity;
  return {
    step(label) {
      const phase = label.split(':', 1)[0]!;
      const now = performance.now();
      if (phase === lastPhase && now - lastAt < 250) return;
      lastPhase = phase;
      lastAt = now;
      const seconds = ((now - started) / 1000).toFixed(1);
      const line = `[${suite} ${seconds}s] ${label}`;
      if (out.isTTY) {
        out.write(`\r${line.padEnd(width)}`);
        width = line.length;
      } else {
        out.write(`${line}\n`);
      }
    },
    done() {
      if (out.isTTY && width > 0) out.write(`\r${' '.repeat(width)}\r`);
      width = 0;
    },
  };
}

function formatNumber(n: number | null): string {
  if (n === null) return '—';
  const abs = Math.abs(n);
  if (abs >= 100) return Math.round(n).toLocaleString('en-US');
  if (abs >= 1) return n.toFixed(2);
  return n.toPrecision(3);
}

/** Ratio of a value to the baseline's value, or null when either is missing. */
/** The nearest-rank `p`th percentile (0–100) of ascending `sorted`; null when it is empty. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function ratio(value: number | null, base: number | null): number | null {
  if (value === null || base === null || base === 0) return null;
  return value / base;
}

/** A plain-text table: one line per row, each system's value with its ratio to the baseline. */
export function formatTable(suite: Suite, rows: readonly Row[]): string {
  const header = [
    'workload',
    'metric',
    'unit',
    ...suite.systems.map((s) => (s === suite.baseline ? s : `${s} (×${suite.baseline})`)),
  ];
  const lines: string[][] = [header];
  for (const row of rows) {
    const base = row.values[suite.baseline] ?? null;
    const cells = suite.systems.map((system) => {
      const value = row.values[system] ?? null;
      if (system === suite.baseline) return formatNumber(value);
      const r = ratio(value, base);
      return r === null ? formatNumber(value) : `${formatNumber(value)} (${r.toFixed(2)})`;
    });
    lines.push([row.workload, `${row.metric} [${row.better === 'higher' ? '↑' : '↓'}]`, row.unit, ...cells]);
  }
  const widths = header.map((_, i) => Math.max(...lines.map((l) => (l[i] ?? '').length)));
  return lines
    .map((l, index) => {
      const text = l
        .map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
        .join('  ');
      return index === 0 ? `${text}\n${'-'.repeat(text.length)}` : text;
    })
    .join('\n');
}

export function writeResult(path: string, result: SuiteResult): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(result, null, 2)}\n`);
}
