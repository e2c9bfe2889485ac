import { lww, type Document, type LWWRegister, type ORMap, type Value } from '@meshwork/core';
import { createMeshNode, type MeshNode, type MeshNodeOptions } from '../../src/index.ts';

/** Short intervals so that tests run in seconds. */
export const fastOptions = {
  listen: ['/ip4/127.0.0.1/tcp/0'],
  syncIntervalMs: 1000,
  batchMs: 2,
  redial: { baseMs: 100, maxMs: 500 },
  gossipHeartbeatMs: 200,
} satisfies MeshNodeOptions;

export type TestNode = MeshNode<Document>;

export function startNode(options: MeshNodeOptions<Document> = {}): Promise<TestNode> {
  return createMeshNode({ ...fastOptions, ...options });
}

export async function startNodes(n: number, start: (i: number) => Promise<TestNode>): Promise<TestNode[]> {
  const nodes: TestNode[] = [];
  for (let i = 0; i < n; i++) nodes.push(await start(i));
  return nodes;
}

/** Links node pairs (i, j) by dialling j from i. */
export async function link(nodes: TestNode[], edges: [number, number][]): Promise<void> {
  await Promise.all(edges.map(([i, j]) => nodes[i]!.dial(nodes[j]!.multiaddrs[0]!)));
}

export const lineEdges = (n: number): [number, number][] =>
  Array.from({ length: n - 1 }, (_, i) => [i, i + 1] as [number, number]);

/** A connected random graph from a seed: a random spanning tree plus `extra` random edges. */
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
    if (a !== b && !edges.has(`${b}-${a}`) && !edges.has(`${a}-${b}`)) edges.add(`${a}-${b}`);
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

/** The key-value member most tests write: an ORMap of LWW registers named `kv`. */
export const kv = (doc: Document): ORMap<LWWRegister<Value>> => doc.ormap('kv', lww());

export const setKey = (doc: Document, key: string, value: Value): void => kv(doc).get(key).set(value);

export const getKey = (doc: Document, key: string): Value | undefined =>
  kv(doc).has(key) ? kv(doc).get(key).get() : undefined;

/** The state of `kv` as a sorted list, equal on converged replicas. */
export const kvView = (doc: Document): string =>
  JSON.stringify(
    kv(doc)
      .entries()
      .map(([k, r]) => [k, r.get()] as const)
      .sort(([x], [y]) => (x < y ? -1 : 1)),
  );
