/**
 * The coordinator on the real libp2p transport: three node processes, six agents, 500
 * tasks including a workflow; one node is SIGKILLed mid-run. Every task still ends with
 * one accepted result, the same on the surviving replicas.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { Command, Report } from '../../bench/coordinator/mesh-node-process.ts';

const script = fileURLToPath(new URL('../../bench/coordinator/mesh-node-process.ts', import.meta.url));

interface Node {
  readonly child: ChildProcess;
  addr: string;
  alive: number;
  done: number;
  query: Extract<Report, { type: 'query' }> | null;
}

const nodes: Node[] = [];
const send = (n: Node, c: Command): void => void n.child.send(c);

async function until(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

afterAll(() => {
  for (const n of nodes) n.child.kill('SIGKILL');
});

describe('coordinator over the libp2p mesh', () => {
  it('finishes 500 tasks and a workflow with one accepted result each after a node is SIGKILLed', async () => {
    for (let i = 0; i < 3; i++) {
      // Capacity 8 per agent; finished tasks kept 10 minutes, so every result can be read at the end.
      const child = fork(script, [String(i), '8', '600000'], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      const node: Node = { child, addr: '', alive: 0, done: 0, query: null };
      child.on('message', (r: Report) => {
        if (r.type === 'ready') node.addr = r.addr;
        else if (r.type === 'agents') node.alive = r.alive;
        else if (r.type === 'done') node.done = r.count;
        else if (r.type === 'query') node.query = r;
      });
      nodes.push(node);
    }
    await until('nodes to start', () => nodes.every((n) => n.addr !== ''), 30_000);
    for (const n of nodes) send(n, { cmd: 'dial', addrs: nodes.filter((m) => m !== n).map((m) => m.addr) });
    await until(
      'six agents alive on every node',
      () => {
        for (const n of nodes) send(n, { cmd: 'agents' });
        return nodes.every((n) => n.alive === 6);
      },
      30_000,
    );

    const ids = Array.from({ length: 490 }, (_, i) => `it-${i}`);
    for (let i = 0; i < ids.length; i += 50)
      send(nodes[(i / 50) % 3]!, { cmd: 'submit', ids: ids.slice(i, i + 50), type: 'work' });
    send(nodes[0]!, { cmd: 'workflow', id: 'it-workflow', items: 8 });
    await until('a third of the tasks to finish', () => nodes.reduce((s, n) => s + n.done, 0) > 160, 60_000);
    nodes[2]!.child.kill('SIGKILL');

    const survivors = nodes.slice(0, 2);
    const allDone = (n: Node): boolean =>
      n.query !== null &&
      n.query.workflow === 'succeeded' &&
      n.query.rows.every(([, status]) => status === 'succeeded');
    await until(
      'every task to succeed on both surviving nodes',
      () => {
        for (const n of survivors) send(n, { cmd: 'query', ids, workflow: 'it-workflow' });
        return survivors.every(allDone);
      },
      90_000,
    );
    // One accepted result per task, the same on both replicas (status, epoch, agent, result).
    expect(survivors[0]!.query!.rows).toEqual(survivors[1]!.query!.rows);
    expect(survivors[0]!.query!.rows).toHaveLength(490);
  });
});
