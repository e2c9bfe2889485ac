import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { api, startDaemonProcess, tempDir, type DaemonProcess } from './support/processes.ts';

const DASHBOARD = fileURLToPath(new URL('../../../deploy/grafana/meshwork.json', import.meta.url));

/** Every PromQL expression in the dashboard: panel targets (in rows too) and variable queries. */
function expressions(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const item of node) expressions(item, out);
  else if (typeof node === 'object' && node !== null) {
    for (const [key, value] of Object.entries(node)) {
      if ((key === 'expr' || key === 'definition') && typeof value === 'string') out.push(value);
      else expressions(value, out);
    }
  }
  return out;
}

/** Metric names in PromQL: Meshwork's own and the Node.js process metrics beside them. */
const metricNames = (expr: string): string[] =>
  expr.match(/\b(?:meshwork|nodejs|process)_[a-z0-9_]+\b/g) ?? [];

/** The series names a scrape can hold: each family, with a histogram's `_bucket`, `_sum` and `_count`. */
function exported(text: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name!);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name! + suffix);
    if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(name! + suffix);
  }
  return names;
}

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; w: number };
  targets?: { expr: string }[];
  panels?: Panel[];
}

describe('the Grafana dashboard (deploy/grafana/meshwork.json)', () => {
  const dir = tempDir('grafana');
  let daemon: DaemonProcess | undefined;
  const receiver = createServer((_req, res) => res.writeHead(204).end());
  afterAll(async () => {
    daemon?.child.kill('SIGTERM');
    await new Promise((resolve) => receiver.close(resolve));
  });

  it('queries only metrics a daemon exports', async () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Panel[] };
    const referenced = new Set(expressions(dashboard).flatMap(metricNames));
    // Throughput, latency, outcomes, failovers, peers, sync, refusals, HTTP, webhooks, workers, health.
    expect(referenced.size).toBeGreaterThanOrEqual(25);
    for (const name of [
      'meshwork_task_submit_to_start_seconds_bucket',
      'meshwork_agent_degraded',
      'meshwork_webhook_outbox_pending',
      'meshwork_http_request_duration_seconds_bucket',
    ])
      expect(referenced).toContain(name);

    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    // A webhook and an agent, so that their metric families are registered too.
    daemon = await startDaemonProcess(dir, {
      name: 'scraped',
      agents: [{ id: 'runner', executors: { shell: {} } }],
      webhooks: [
        {
          name: 'ops',
          url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`,
          secret: 's'.repeat(16),
        },
      ],
    });
    const scrape = await api<string>(daemon.info.url, '/metrics');
    expect(scrape.status).toBe(200);
    const missing = [...referenced].filter((name) => !exported(scrape.body).has(name));
    expect(missing).toEqual([]);
  });

  it('has unique panel ids, a query on every panel, and panels within the 24-column grid', () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Panel[] };
    const all = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
    expect(new Set(all.map((p) => p.id)).size).toBe(all.length);
    for (const p of all) {
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      if (p.type !== 'row') expect(p.targets?.length, p.title).toBeGreaterThan(0);
    }
  });
});
