import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient, readDaemonInfo, type DaemonInfo, type NodeClient } from './client.ts';
import { textStatsTemplate } from './demo/template.ts';

export interface DemoOptions {
  /** Exit once the workflow is done instead of serving until Ctrl-C. */
  once: boolean;
  /** Data directory for the three nodes; default a new temporary directory. */
  dir?: string | undefined;
  /** HTTP port of node-1; node-2 and node-3 take the next two. 0 = any free ports. */
  httpPort: number;
  /** With `once`: give up after this long. */
  timeoutMs: number;
  /** Where progress goes; default stdout. */
  out?: (line: string) => void;
}

const API_KEY = 'demo-key-not-secret-0123456789';

/** Same extension as this file: `.ts` from source, `.js` once built. */
const here = (name: string): string =>
  fileURLToPath(new URL(`./${name}${extname(import.meta.url)}`, import.meta.url));

const SAMPLE_TEXTS: Record<string, string> = {
  'crdts.txt':
    'Conflict-free replicated data types let every replica accept writes on its own and still converge. ' +
    'Deltas are small states, so merging them is the same join as merging whole states, in any order and any number of times. ',
  'mesh.txt':
    'The mesh gossips each local event within milliseconds and runs anti-entropy rounds so that a partition heals completely. ',
  'tasks.txt':
    'Tasks are claimed, settled, leased and fenced. An agent that dies loses its lease and the task moves elsewhere within seconds. ' +
    'Every attempt carries an epoch, a fencing token, so sinks can refuse stale writers. ',
};

interface AgentInfo {
  id: string;
  node: string;
  live: boolean;
  metadata?: { node?: string };
}
interface TaskInfo {
  id: string;
  status: string;
  agent: string | null;
  workflow: { step: string; iteration: string } | null;
  error: string | null;
  progress: unknown;
}
interface WorkflowInfo {
  id: string;
  status: 'running' | 'succeeded' | 'failed';
  steps: Record<string, string>;
  tasks: string[];
  reason: string | null;
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolvePort) => {
    const s = createServer();
    s.once('error', () => resolvePort(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolvePort(true)));
  });
}

async function until<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined> | T | undefined,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch {
      // Not yet.
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** A tiny HTTP endpoint the workflow's conditional step posts its report to. */
async function startReportSink(): Promise<{ url: string; reports: unknown[]; server: Server }> {
  const reports: unknown[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      try {
        reports.push(JSON.parse(body));
      } catch {
        reports.push(body);
      }
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ stored: reports.length }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/reports`, reports, server };
}

function nodeConfig(name: string, dir: string, httpPort: number, bootstrap: string[]): object {
  const shell = { envAllow: ['PATH', 'LANG'], timeoutMs: 30_000, allowCommands: ['wc', 'echo'] };
  const module = { handlers: { summarize: here('demo/summarize') } };
  const http = { retries: 2, backoffMs: 100, allowHosts: ['127.0.0.1'] };
  const agents: Record<string, object[]> = {
    'node-1': [
      { id: 'shell-1', capabilities: ['text'], capacity: 2, executors: { shell } },
      { id: 'summarizer-1', executors: { module } },
    ],
    'node-2': [
      { id: 'shell-2', capabilities: ['text'], capacity: 2, executors: { shell } },
      { id: 'http-2', executors: { http } },
    ],
    'node-3': [
      { id: 'shell-3', capabilities: ['text'], capacity: 2, executors: { shell } },
      { id: 'summarizer-3', executors: { module } },
      { id: 'http-3', executors: { http } },
    ],
  };
  return {
    name,
    dataDir: join(dir, name),
    listen: ['/ip4/127.0.0.1/tcp/0'],
    bootstrap,
    http: { port: httpPort },
    apiKey: API_KEY,
    logFile: join(dir, name, 'daemon.log'),
    drainTimeoutMs: 5_000,
    agents: agents[name],
    workflows: { 'text-stats': textStatsTemplate },
  };
}

interface RunningNode {
  name: string;
  child: ChildProcess;
  info: DaemonInfo;
  client: NodeClient;
  stderr: string[];
}

async function startNode(
  name: string,
  dir: string,
  httpPort: number,
  bootstrap: string[],
): Promise<RunningNode> {
  const configFile = join(dir, `${name}.json`);
  mkdirSync(join(dir, name), { recursive: true });
  writeFileSync(configFile, JSON.stringify(nodeConfig(name, dir, httpPort, bootstrap), null, 2));
  // Own process group (Ctrl-C reaches only the demo, which then stops the nodes gracefully);
  // the stdin pipe closes if the demo dies, and the node then stops too.
  const child = spawn(
    process.execPath,
    [...process.execArgv, here('cli'), 'start', '--config', configFile, '--stop-on-stdin-close'],
    {
      stdio: ['pipe', 'ignore', 'pipe'],
      detached: true,
    },
  );
  const stderr: string[] = [];
  child.stderr.on('data', (c: Buffer) => stderr.push(c.toString()));
  let exited = false;
  child.once('exit', () => (exited = true));
  const info = await until(`${name} to start`, 30_000, () => {
    if (exited) throw new Error(`${name} exited during startup: ${stderr.join('').trim()}`);
    const i = readDaemonInfo(join(dir, name));
    return i?.pid === child.pid ? i : undefined;
  }).catch((err: unknown) => {
    if (exited) throw new Error(`${name} exited during startup: ${stderr.join('').trim()}`);
    throw err;
  });
  return { name, child, info, client: createClient({ url: info.url, apiKey: API_KEY }), stderr };
}

async function stopNodes(nodes: RunningNode[]): Promise<void> {
  await Promise.all(
    nodes.map(
      (n) =>
        new Promise<void>((r) => {
          if (n.child.exitCode !== null || n.child.signalCode !== null) return r();
          n.child.once('exit', () => r());
          n.child.kill('SIGTERM');
          setTimeout(() => n.child.kill('SIGKILL'), 15_000).unref();
        }),
    ),
  );
}

/**
 * `meshwork demo`: three daemons as child processes on loopback, each with agents using real
 * executors, and the text-stats workflow (fan-out, join, conditional) submitted to node-1.
 * Returns the process exit code.
 */
export async function runDemo(options: DemoOptions): Promise<number> {
  const out = options.out ?? ((line: string) => console.log(line));
  const dir =
    options.dir !== undefined ? resolve(options.dir) : mkdtempSync(join(tmpdir(), 'meshwork-demo-'));
  mkdirSync(join(dir, 'input'), { recursive: true });
  const files = Object.entries(SAMPLE_TEXTS).map(([name, text]) => {
    const file = join(dir, 'input', name);
    writeFileSync(file, text);
    return file;
  });

  let ports = [options.httpPort, options.httpPort + 1, options.httpPort + 2];
  if (options.httpPort === 0 || !(await Promise.all(ports.map(portFree))).every(Boolean)) {
    if (options.httpPort !== 0) out(`ports ${ports.join(', ')} are taken; using free ports instead`);
    ports = [0, 0, 0];
  }

  const sink = await startReportSink();
  const nodes: RunningNode[] = [];
  const started = Date.now();
  let interrupted = false;
  const onSigint = (): void => {
    interrupted = true;
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  try {
    out(`meshwork demo: starting a 3-node mesh on 127.0.0.1 (data in ${dir})`);
    nodes.push(await startNode('node-1', dir, ports[0]!, []));
    // Each node bootstraps to all earlier ones, so the three form a full mesh.
    nodes.push(await startNode('node-2', dir, ports[1]!, nodes[0]!.info.multiaddrs));
    nodes.push(
      await startNode(
        'node-3',
        dir,
        ports[2]!,
        nodes.flatMap((n) => n.info.multiaddrs),
      ),
    );
    const first = nodes[0]!;
    const agents = await until('all agents to be seen by node-1', 60_000, async () => {
      const list = await first.client.get<AgentInfo[]>('/v1/agents');
      return list.filter((a) => a.live).length >= 7 ? list : undefined;
    });
    await until('every node to see its peers', 60_000, async () => {
      const counts = await Promise.all(nodes.map((n) => n.client.get<unknown[]>('/v1/peers')));
      return counts.every((c) => c.length >= 2) ? true : undefined;
    });
    const nodeOfAgent = new Map(agents.map((a) => [a.id, a.metadata?.node ?? a.node.slice(-6)]));
    for (const n of nodes) {
      out(
        `  ${n.name}  ${n.info.url}  (/v1/status /v1/tasks /v1/events /metrics)  dashboard ${n.info.url}/ui  peer ${n.info.peerId.slice(-8)}`,
      );
    }
    out(`  dashboard actions (submit, start, cancel) take the API key ${API_KEY}`);
    out(`  agents: ${agents.map((a) => `${a.id}@${nodeOfAgent.get(a.id)}`).join(', ')}`);

    const wf = await first.client.post<WorkflowInfo>('/v1/workflows', {
      template: 'text-stats',
      params: { files, threshold: 20, sink: sink.url },
    });
    out(
      `workflow ${wf.id} (text-stats): count words of ${files.length} files in parallel -> summarize -> publish if over 20 words`,
    );

    const seen = new Map<string, string>();
    const fanOutSteps = new Set(textStatsTemplate.steps.filter((st) => 'forEach' in st).map((st) => st.id));
    const deadline = Date.now() + options.timeoutMs;
    let final: WorkflowInfo | undefined;
    let tasks: TaskInfo[] = [];
    while (!interrupted) {
      const current = await first.client.get<WorkflowInfo>(`/v1/workflows/${wf.id}`);
      tasks = await Promise.all(current.tasks.map((id) => first.client.get<TaskInfo>(`/v1/tasks/${id}`)));
      for (const t of tasks) {
        const where = t.agent !== null ? ` on ${t.agent}@${nodeOfAgent.get(t.agent) ?? '?'}` : '';
        const step = t.workflow?.step ?? t.id;
        const label = fanOutSteps.has(step) ? `${step}[${t.workflow?.iteration ?? ''}]` : step;
        const line = `  ${label.padEnd(14)} ${t.status.padEnd(9)}${where}${t.error ? `  (${t.error})` : ''}`;
        if (seen.get(t.id) !== line) {
          seen.set(t.id, line);
          out(line);
        }
        // Executor output streamed into the task as progress.
        const progress = JSON.stringify(t.progress);
        const lines = (t.progress as { lines?: unknown } | null)?.lines;
        if (t.progress !== null && seen.get(`progress:${t.id}`) !== progress && Array.isArray(lines)) {
          seen.set(`progress:${t.id}`, progress);
          for (const l of lines) out(`  ${''.padEnd(14)} | ${String(l).trim()}`);
        }
      }
      for (const [step, state] of Object.entries(current.steps)) {
        if (state === 'skipped' && !seen.has(`step:${step}`)) {
          seen.set(`step:${step}`, state);
          out(`  ${step.padEnd(14)} skipped  (condition false)`);
        }
      }
      if (current.status !== 'running') {
        final = current;
        break;
      }
      if (options.once && Date.now() > deadline) break;
      await sleep(200);
    }

    if (final === undefined) {
      if (interrupted) {
        out('interrupted; stopping the nodes');
        return 130;
      }
      out(`meshwork demo: workflow ${wf.id} did not finish within ${options.timeoutMs} ms`);
      return 1;
    }
    const summary = tasks.find((t) => t.workflow?.step === 'summarize');
    const result = summary
      ? await first.client.get<{ result: { words?: number } }>(`/v1/tasks/${summary.id}`)
      : undefined;
    const agentsUsed = new Set(tasks.map((t) => t.agent).filter((a): a is string => a !== null));
    const nodesUsed = new Set([...agentsUsed].map((a) => nodeOfAgent.get(a)));
    const skipped = Object.entries(final.steps)
      .filter(([, s]) => s === 'skipped')
      .map(([s]) => s);
    const line =
      `meshwork demo: workflow ${final.id} ${final.status} in ${((Date.now() - started) / 1000).toFixed(1)}s: ` +
      `${tasks.length} tasks on ${agentsUsed.size} agents across ${nodesUsed.size} nodes, ` +
      `${result?.result.words ?? '?'} words, ${sink.reports.length} report(s) published` +
      (skipped.length > 0 ? `, skipped: ${skipped.join(', ')}` : '') +
      (final.reason ? ` (${final.reason})` : '');
    if (options.once) {
      await stopNodes(nodes);
      nodes.length = 0;
      out(line);
      return final.status === 'succeeded' ? 0 : 1;
    }
    out(line);
    out(
      `serving; open ${first.info.url}/ui or try \`pnpm meshwork task list --url ${first.info.url}\` - Ctrl-C stops the mesh`,
    );
    while (!interrupted) await sleep(200);
    out('stopping the nodes (draining running tasks)');
    return 0;
  } catch (err) {
    out(`meshwork demo failed: ${(err as Error).message}`);
    for (const n of nodes) {
      const log = n.stderr.join('').trim();
      if (log) out(`${n.name} stderr:\n${log}`);
      try {
        const tail = readFileSync(join(dir, n.name, 'daemon.log'), 'utf8')
          .trim()
          .split('\n')
          .slice(-5);
        out(`${n.name} log tail:\n${tail.join('\n')}`);
      } catch {
        // No log yet.
      }
    }
    return 1;
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
    await stopNodes(nodes);
    await new Promise<void>((r) => sink.server.close(() => r()));
  }
}
