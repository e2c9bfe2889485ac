import { describe, expect, it } from 'vitest';
import { createMetrics } from '../src/metrics.ts';
import { VERSION } from '../src/version.ts';

const sources = { tasksByState: () => ({}), transport: () => undefined, storeEvents: () => 0 };

/** The sample lines of a metric family, without its HELP and TYPE lines. */
async function samples(metrics: ReturnType<typeof createMetrics>, name: string): Promise<string[]> {
  const { body } = await metrics.render();
  return body.split('\n').filter((line) => line.startsWith(name) && !line.startsWith('#'));
}

describe('node metrics', () => {
  it('count attempt starts and outcomes apart, time runs by outcome and submit→start of first attempts', async () => {
    const metrics = createMetrics(sources);
    metrics.attemptStarted(0.2);
    metrics.attemptStarted(undefined);
    metrics.attemptStarted(3);
    metrics.attemptEnded('succeeded', 0.04);
    metrics.attemptEnded('failed', 12);
    // A wall clock stepped back: the outcome counts, the duration is not observed.
    metrics.attemptEnded('failed', -1);

    expect(await samples(metrics, 'meshwork_attempts_started_total')).toEqual([
      'meshwork_attempts_started_total 3',
    ]);
    expect(await samples(metrics, 'meshwork_attempt_outcomes_total')).toEqual([
      'meshwork_attempt_outcomes_total{outcome="succeeded"} 1',
      'meshwork_attempt_outcomes_total{outcome="failed"} 2',
      'meshwork_attempt_outcomes_total{outcome="timed-out"} 0',
      'meshwork_attempt_outcomes_total{outcome="cancelled"} 0',
      'meshwork_attempt_outcomes_total{outcome="fenced"} 0',
    ]);
    const durations = await samples(metrics, 'meshwork_attempt_duration_seconds');
    expect(durations).toContain('meshwork_attempt_duration_seconds_bucket{le="0.05",outcome="succeeded"} 1');
    expect(durations).toContain('meshwork_attempt_duration_seconds_bucket{le="10",outcome="failed"} 0');
    expect(durations).toContain('meshwork_attempt_duration_seconds_bucket{le="30",outcome="failed"} 1');
    expect(durations).toContain('meshwork_attempt_duration_seconds_count{outcome="failed"} 1');
    const submitToStart = await samples(metrics, 'meshwork_task_submit_to_start_seconds');
    expect(submitToStart).toContain('meshwork_task_submit_to_start_seconds_bucket{le="0.25"} 1');
    expect(submitToStart).toContain('meshwork_task_submit_to_start_seconds_count 2');
    expect(submitToStart).toContain('meshwork_task_submit_to_start_seconds_sum 3.2');
  });

  it("report each of this node's agents as degraded (1) or not (0), without series for agents gone", async () => {
    let agents = [
      { agent: 'fast', degraded: false },
      { agent: 'slow', degraded: true },
    ];
    const metrics = createMetrics({ ...sources, agentHealth: () => agents });
    expect(await samples(metrics, 'meshwork_agent_degraded')).toEqual([
      'meshwork_agent_degraded{agent="fast"} 0',
      'meshwork_agent_degraded{agent="slow"} 1',
    ]);
    agents = [{ agent: 'fast', degraded: false }];
    expect(await samples(metrics, 'meshwork_agent_degraded')).toEqual([
      'meshwork_agent_degraded{agent="fast"} 0',
    ]);
  });

  it('time HTTP requests by method and route', async () => {
    const metrics = createMetrics(sources);
    metrics.httpRequest('GET', '/v1/tasks', 200, 0.004);
    metrics.httpRequest('GET', '/v1/tasks', 200, 0.3);
    metrics.httpRequest('GET', '/v1/tasks', 404);
    const lines = await samples(metrics, 'meshwork_http_request_duration_seconds');
    expect(lines).toContain(
      'meshwork_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/v1/tasks"} 1',
    );
    expect(lines).toContain('meshwork_http_request_duration_seconds_count{method="GET",route="/v1/tasks"} 2');
    expect(await samples(metrics, 'meshwork_http_requests_total')).toEqual([
      'meshwork_http_requests_total{method="GET",route="/v1/tasks",status="200"} 2',
      'meshwork_http_requests_total{method="GET",route="/v1/tasks",status="404"} 1',
    ]);
  });

  it('report the build: the meshwork version and the Node.js version', async () => {
    expect(VERSION).toMatch(/^\d+\.\d+\.\d+/);
    expect(await samples(createMetrics(sources), 'meshwork_build_info')).toEqual([
      `meshwork_build_info{version="${VERSION}",node="${process.version}"} 1`,
    ]);
  });

  it('follow the Prometheus naming conventions', async () => {
    const { body } = await createMetrics(sources).render();
    const families = [...body.matchAll(/^# TYPE (meshwork_\S+) (\w+)$/gm)].map(
      (m) => [m[1]!, m[2]!] as const,
    );
    expect(families.length).toBeGreaterThan(10);
    for (const [name, type] of families) {
      expect(name).toMatch(/^meshwork_[a-z0-9_]+$/);
      // Counters end in _total; gauges and histograms never do; durations are in seconds.
      expect(name.endsWith('_total'), name).toBe(type === 'counter');
      if (type === 'histogram') expect(name, name).toMatch(/_seconds$/);
    }
  });
});
