import type { SyncedDocument } from '../../src/index.ts';
import { createMeshNode, type MeshNode, type MeshNodeOptions } from '../../src/index.ts';
import { eventLogRuntime, type EventLogDocument } from './event-log-document.ts';

/** Short intervals so that tests run in seconds. */
export const fastOptions = {
  listen: ['/ip4/127.0.0.1/tcp/0'],
  syncIntervalMs: 1000,
  batchMs: 2,
  redial: { baseMs: 100, maxMs: 500 },
  gossipHeartbeatMs: 200,
} satisfies MeshNodeOptions;

export type TestNode = MeshNode<EventLogDocument>;

export function startNode(options: Partial<MeshNodeOptions<EventLogDocument>> = {}): Promise<TestNode> {
  return createMeshNode<EventLogDocument>({ ...fastOptions, runtime: eventLogRuntime, ...options });
}

export async function startNodes<D extends SyncedDocument>(
  n: number,
  start: (i: number) => Promise<MeshNode<D>>,
): Promise<MeshNode<D>[]> {
  const nodes: MeshNode<D>[] = [];
  for (let i = 0; i < n; i++) nodes.push(await start(i));
  return nodes;
}

/** Links node pairs (i, j) by dialling j from i. */
export async function link<D extends SyncedDocument>(
  nodes: MeshNode<D>[],
  edges: [number, number][],
): Promise<void> {
  await Promise.all(edges.map(([i, j]) => nodes[i]!.dial(nodes[j]!.multiaddrs[0]!)));
}

export const lineEdges = (n: number): [number, number][] =>
  Array.from({ length: n - 1 }, (_, i) => [i, i + 1] as [number, number]);

/** A connected random graph: a random spanning tree plus `extra` random edges, from a seed. */
export function sparseEdges(n: number, extra: number, seed: number): [number, number][] {
  let s = seed;
  const rand = (k: number): number => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s % k;
  };
  const edges = new Set<string>();
  for (let i = 1; i < n; i++) edges.add(`${rand(i)}-${i}`);
  while (edges.size < n - 1 + extra) {
    const a = rand(n);
    const b = rand(n);
    if (a !== b && !edges.has(`${b}-${a}`)) edges.add(`${a}-${b}`);
  }
  return [...edges].map((e) => e.split('-').map(Number) as [number, number]);
}

export async function waitFor(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function stopAll(nodes: { stop(): Promise<unknown> }[]): Promise<void> {
  await Promise.all(nodes.map((n) => n.stop()));
}
