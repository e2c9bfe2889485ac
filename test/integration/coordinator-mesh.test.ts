/**
 * The coordinator on the real libp2p transport: three node processes, six agents, 500
 * tasks including a workflow; one node is SIGKILLed mid-run. Every task still ends with
 * one accepted result, the same on the surviving replicas.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startCluster, until, type ClusterNode } from '../../bench/coordinator/mesh-cluster.ts';
import type { Report } from '../../bench/coordinator/mesh-node-process.ts';

const nodes: ClusterNode[] = [];
/** The last answer of each node to a query, by node. */
const answers = new Map<ClusterNode, Extract<Report, { type: 'query' }>>();

afterAll(() => {
  for (const n of nodes) n.child.kill('SIGKILL');
});

describe('coordinator over the libp2p mesh', () => {
  it('finishes 500 tasks and a workflow with one accepted result each after a node is SIGKILLed', async () => {
    // Capacity 8 per agent; finished tasks kept 10 minutes, so every result can be read at the end.
    await startCluster({
      size: 3,
      capacity: 8,
      retainMs: 600_000,
      into: nodes,
      timeoutMs: 30_000,
      onReport: (node, r) => {
        if (r.type === 'query') answers.set(node, r);
      },
    });

    const ids = Array.from({ length: 490 }, (_, i) => `it-${i}`);
    for (let i = 0; i < ids.length; i += 50)
      nodes[(i / 50) % 3]!.send({ cmd: 'submit', ids: ids.slice(i, i + 50), type: 'work' });
    nodes[0]!.send({ cmd: 'workflow', id: 'it-workflow', items: 8 });
    await until('a third of the tasks to finish', () => nodes.reduce((s, n) => s + n.done, 0) > 160, 60_000);
    nodes[2]!.child.kill('SIGKILL');

    const survivors = nodes.slice(0, 2);
    const allDone = (n: ClusterNode): boolean => {
      const answer = answers.get(n);
      return (
        answer !== undefined &&
        answer.workflow === 'succeeded' &&
        answer.rows.every(([, status]) => status === 'succeeded')
      );
    };
    await until(
      'every task to succeed on both surviving nodes',
      () => {
        for (const n of survivors) n.send({ cmd: 'query', ids, workflow: 'it-workflow' });
        return survivors.every(allDone);
      },
      90_000,
    );
    // One accepted result per task, the same on both replicas (status, epoch, agent, result).
    const [first, second] = survivors.map((n) => answers.get(n)!.rows);
    expect(first).toEqual(second);
    expect(first).toHaveLength(490);
  });
});
