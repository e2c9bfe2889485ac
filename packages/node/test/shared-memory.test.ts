import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareTimestamps, type Timestamp } from '@meshwork/core';
import { parseConfig } from '../src/config.ts';
import { startDaemon, type Daemon } from '../src/daemon.ts';
import { EventLogError } from '../src/persistence.ts';
import {
  api,
  API_KEY,
  startDaemonProcess,
  tempDir,
  waitFor,
  type DaemonProcess,
} from './support/processes.ts';

type View = Record<string, unknown> & { type: string; createdAt: number; createdBy: string };

const put = (url: string, path: string, body: unknown) => api<View>(url, path, { method: 'PUT', body });
const post = (url: string, path: string, body: unknown) => api<View>(url, path, { body });
const read = async <T = View>(url: string, path: string): Promise<T> => (await api<T>(url, path)).body;

function config(dir: string, name: string, bootstrap: string[] = []) {
  return parseConfig(
    { name, dataDir: join(dir, name), apiKey: API_KEY, http: { port: 0 }, logLevel: 'silent', bootstrap },
    dir,
  );
}

/** A member as every replica must show it: a bounded counter's `rights` are this node's own. */
function shared(view: View): unknown {
  const { rights: _rights, ...rest } = view;
  return rest;
}

/** Reads `paths` on both nodes until they show the same; returns that. */
async function converged(a: Daemon, b: Daemon, paths: string[]): Promise<Record<string, View>> {
  return waitFor('both nodes to show the same shared memory', 30_000, async () => {
    const out: Record<string, View> = {};
    for (const path of paths) {
      const [x, y] = await Promise.all([read(a.url, path), read(b.url, path)]);
      if (JSON.stringify(shared(x)) !== JSON.stringify(shared(y))) return undefined;
      out[path] = x;
    }
    return out;
  });
}

/** `GET /v1/events` on `url`, collecting the stream's text. */
async function eventStream(url: string) {
  const ac = new AbortController();
  const res = await fetch(`${url}/v1/events`, { signal: ac.signal });
  const reader = res.body!.getReader();
  let text = '';
  return {
    async until(fragment: string): Promise<string> {
      while (!text.includes(fragment))
        text += new TextDecoder().decode((await reader.read()).value as Uint8Array);
      return text;
    },
    close: () => ac.abort(),
  };
}

describe('shared memory across daemons', () => {
  const dir = tempDir('memory-mesh');
  let a: Daemon;
  let b: Daemon;
  /** What each node answered to its own writes while the two were apart. */
  const wrote: Record<string, View> = {};

  beforeAll(async () => {
    // Apart at first: every write below is concurrent with the other node's.
    a = await startDaemon(config(dir, 'a'));
    b = await startDaemon(config(dir, 'b'));
    const doc = '/v1/memory/shared';
    const steps: [string, Daemon, 'PUT' | 'POST', string, unknown][] = [
      ['owner-a', a, 'PUT', 'owner', { type: 'lww', value: 'from a' }],
      ['owner-b', b, 'PUT', 'owner', { type: 'lww', value: 'from b' }],
      ['status-a', a, 'PUT', 'status', { type: 'mvregister', value: { state: 'ready' } }],
      ['status-b', b, 'PUT', 'status', { type: 'mvregister', value: { state: 'busy' } }],
      ['tags-a', a, 'POST', 'tags', { type: 'orset', op: 'add', values: ['a', 'both'] }],
      ['tags-b', b, 'POST', 'tags', { type: 'orset', op: 'add', values: ['b', 'both'] }],
      ['tags-b2', b, 'POST', 'tags', { type: 'orset', op: 'remove', values: ['both'] }],
      ['hits-a', a, 'POST', 'hits', { type: 'pncounter', op: 'increment', by: 5 }],
      ['hits-b', b, 'POST', 'hits', { type: 'pncounter', op: 'increment', by: 3 }],
      ['hits-b2', b, 'POST', 'hits', { type: 'pncounter', op: 'decrement' }],
      ['slots-a', a, 'POST', 'slots', { type: 'boundedcounter', op: 'increment', by: 3 }],
      ['slots-b', b, 'POST', 'slots', { type: 'boundedcounter', op: 'increment', by: 2 }],
      ['slots-b2', b, 'POST', 'slots', { type: 'boundedcounter', op: 'decrement', by: 1 }],
      ['g-a1', a, 'POST', 'g', { type: 'graph', op: 'addVertex', id: 'x', attrs: { owner: 'a' } }],
      ['g-a2', a, 'POST', 'g', { type: 'graph', op: 'addVertex', id: 'y' }],
      ['g-a3', a, 'POST', 'g', { type: 'graph', op: 'addEdge', from: 'x', to: 'y', label: 'uses' }],
      ['g-b1', b, 'POST', 'g', { type: 'graph', op: 'addVertex', id: 'z' }],
      ['g-b2', b, 'POST', 'g', { type: 'graph', op: 'addVertex', id: 'x', attrs: { owner: 'b' } }],
      ['g-b3', b, 'POST', 'g', { type: 'graph', op: 'removeVertex', id: 'x' }],
      [
        'cpu-a',
        a,
        'POST',
        'cpu',
        {
          type: 'timeseries',
          op: 'append',
          points: [
            { series: 'load', value: 1, at: 1_000 },
            { series: 'load', value: 3, at: 2_000 },
          ],
        },
      ],
      [
        'cpu-b',
        b,
        'POST',
        'cpu',
        {
          type: 'timeseries',
          op: 'append',
          points: [
            { series: 'load', value: 5, at: 1_000 },
            { series: 'load', value: 7, at: 3_000 },
          ],
        },
      ],
      ['notes-a', a, 'POST', 'notes', { type: 'text', op: 'insert', index: 0, text: 'hello' }],
      ['notes-b', b, 'POST', 'notes', { type: 'text', op: 'insert', index: 0, text: 'world' }],
      ['thing-a', a, 'PUT', 'thing', { type: 'lww', value: 1 }],
      ['thing-b', b, 'POST', 'thing', { type: 'orset', op: 'add', values: [2] }],
    ];
    for (const [key, node, method, member, body] of steps) {
      const res = await (method === 'PUT' ? put : post)(node.url, `${doc}/${member}`, body);
      expect(res.status, key).toBe(200);
      wrote[key] = res.body;
    }
    expect((await put(a.url, '/v1/memory/only-a/note', { type: 'lww', value: 'a alone' })).status).toBe(200);
    // b restarts into the mesh: what it wrote alone is kept and merged with a's.
    await b.stop();
    b = await startDaemon(config(dir, 'b', a.multiaddrs));
  }, 60_000);
  afterAll(() => Promise.all([a.stop(), b.stop()]));

  it('shows a document created on one node on the other, and a write on one is read on the other', async () => {
    const list = await waitFor('b to list a document only a created, with its member', 20_000, async () => {
      const body = await read<{ documents: { name: string; members: number }[] }>(b.url, '/v1/memory');
      return body.documents.some((d) => d.name === 'only-a' && d.members === 1) ? body : undefined;
    });
    expect(list).toEqual({
      documents: [
        { name: 'only-a', members: 1 },
        { name: 'shared', members: 9 },
      ],
      next: null,
    });
    expect(await read(b.url, '/v1/memory/only-a/note')).toMatchObject({ type: 'lww', value: 'a alone' });

    expect((await put(b.url, '/v1/memory/from-b/answer', { type: 'lww', value: 42 })).status).toBe(200);
    const seen = await waitFor('a to read b’s write', 20_000, async () => {
      const { status, body } = await api<View>(a.url, '/v1/memory/from-b/answer');
      return status === 200 ? body : undefined;
    });
    expect(seen).toMatchObject({
      document: 'from-b',
      member: 'answer',
      type: 'lww',
      value: 42,
      writer: b.peerId,
      createdBy: b.peerId,
    });
  });

  it('merges concurrent writes to the documented result on both nodes', async () => {
    const m = '/v1/memory/shared';
    const members = ['owner', 'status', 'tags', 'hits', 'slots', 'g', 'cpu', 'notes', 'thing'];
    const paths = [m, ...members.map((x) => `${m}/${x}`), `${m}/cpu?series=load`];
    const views = await converged(a, b, [...paths, `${m}/cpu?series=load&bucketMs=2000&from=0&to=4000`]);
    const at = (p: string): View => views[`${m}/${p}`]!;

    // Last writer wins by HLC (ties broken by replica id); the timestamp and writer are shown.
    const stamps = [wrote['owner-a']!, wrote['owner-b']!].map((v) => v.timestamp as Timestamp);
    const latest = compareTimestamps(stamps[0]!, stamps[1]!) > 0 ? stamps[0]! : stamps[1]!;
    expect(at('owner')).toMatchObject({
      value: latest.replica === a.peerId ? 'from a' : 'from b',
      timestamp: latest,
      writer: latest.replica,
    });
    // Both concurrent values survive, each with its writer.
    const statuses = at('status').values as { value: unknown; writer: string }[];
    expect(statuses).toHaveLength(2);
    expect(statuses).toEqual(
      expect.arrayContaining([
        { value: { state: 'ready' }, writer: a.peerId },
        { value: { state: 'busy' }, writer: b.peerId },
      ]),
    );
    // Add wins: b's remove of "both" removed only the add it had seen, not a's concurrent one.
    expect(at('tags')).toMatchObject({ size: 3, values: ['a', 'b', 'both'] });
    expect(at('hits')).toMatchObject({ value: 7 });
    expect(at('slots')).toMatchObject({ value: 4 });
    expect((await read(a.url, `${m}/slots`)).rights).toBe(3);
    expect((await read(b.url, `${m}/slots`)).rights).toBe(1);
    // b removed only its own add of x: a's add survives with a's attributes, and so does its edge.
    expect(at('g')).toMatchObject({
      vertices: [
        { id: 'x', attrs: { owner: 'a' } },
        { id: 'y', attrs: {} },
        { id: 'z', attrs: {} },
      ],
      edges: [{ from: 'x', to: 'y', label: 'uses', attrs: {} }],
    });
    expect(await read(b.url, `${m}/g?vertex=x`)).toMatchObject({
      vertex: { id: 'x' },
      out: [{ from: 'x', to: 'y' }],
      in: [],
    });
    // Points of both nodes are kept, even at the same time; rollups fold them.
    expect(views[`${m}/cpu?series=load`]).toMatchObject({
      points: [
        { at: 1_000, value: expect.any(Number) as number },
        { at: 1_000, value: expect.any(Number) as number },
        { at: 2_000, value: 3, writer: a.peerId },
        { at: 3_000, value: 7, writer: b.peerId },
      ],
      next: null,
    });
    expect(views[`${m}/cpu?series=load&bucketMs=2000&from=0&to=4000`]).toMatchObject({
      buckets: [
        { start: 0, count: 2, sum: 6, min: 1, max: 5 },
        { start: 2_000, count: 2, sum: 10, min: 3, max: 7 },
      ],
    });
    expect(at('cpu')).toMatchObject({ series: [{ name: 'load', points: 4, first: 1_000, last: 3_000 }] });
    // Concurrent inserts at one place are both kept, in the same order everywhere.
    expect(['helloworld', 'worldhello']).toContain(at('notes').text);
    expect(at('notes').length).toBe(10);

    // One name created with two types at once: every node shows the type created first, lists
    // the other as a conflict, and the Document keeps syncing.
    const thing = at('thing');
    const [winner, loser] = thing.type === 'lww' ? [a, b] : [b, a];
    const other = thing.type === 'lww' ? 'orset' : 'lww';
    expect(thing).toMatchObject({
      createdBy: winner.peerId,
      conflicts: [{ type: other, createdBy: loser.peerId }],
    });
    const created = (n: Daemon): number => wrote[n === a ? 'thing-a' : 'thing-b']!.createdAt;
    expect(created(winner)).toBeLessThanOrEqual(created(loser));
    const refused = await post(
      loser.url,
      `${m}/thing`,
      other === 'orset' ? { type: 'orset', op: 'add', values: [3] } : { type: 'lww', op: 'set', value: 3 },
    );
    expect(refused.status).toBe(409);
    expect(views[m]!.members).toContainEqual({ name: 'thing', type: thing.type, conflicts: [other] });
  });

  it('streams a change made on one node to the other’s event stream', async () => {
    const stream = await eventStream(b.url);
    try {
      expect(
        (await post(a.url, '/v1/memory/shared/hits', { type: 'pncounter', op: 'increment' })).status,
      ).toBe(200);
      const text = await stream.until('"members":["hits"]');
      expect(text).toContain('event: memory\ndata: {"document":"shared","members":["hits"],"local":false}');
      await post(b.url, '/v1/memory/shared/tags', { type: 'orset', op: 'add', values: ['live'] });
      expect(await stream.until('"members":["tags"]')).toContain(
        'data: {"document":"shared","members":["tags"],"local":true}',
      );
      await put(a.url, '/v1/memory/brand-new/x', { type: 'lww', value: 1 });
      expect(await stream.until('"document":"brand-new"')).toContain(
        'data: {"document":"brand-new","members":[],"local":false}',
      );
    } finally {
      stream.close();
    }
  });
});

describe('shared memory across a crash', () => {
  const dir = tempDir('memory-crash');
  const cfg = { name: 'crashy' };
  let node: DaemonProcess;
  beforeAll(async () => {
    node = await startDaemonProcess(dir, cfg);
  });
  afterAll(() => node.child.kill('SIGKILL'));

  it('keeps every acknowledged write of every type through SIGKILL and restart', async () => {
    const url = node.info.url;
    const m = '/v1/memory/kept';
    const writes: [string, 'PUT' | 'POST', unknown][] = [
      ['reg', 'PUT', { type: 'lww', value: { deep: [1, 2, { three: true }] } }],
      ['mv', 'PUT', { type: 'mvregister', value: 'only' }],
      ['set', 'POST', { type: 'orset', op: 'add', values: ['x', 1, { y: null }] }],
      ['count', 'POST', { type: 'pncounter', op: 'decrement', by: 4 }],
      ['bounded', 'POST', { type: 'boundedcounter', op: 'increment', by: 9 }],
      ['graph', 'POST', { type: 'graph', op: 'addVertex', id: 'v', attrs: { n: 1 } }],
      ['series', 'POST', { type: 'timeseries', op: 'append', points: [{ series: 's', value: 2.5, at: 7 }] }],
      ['text', 'POST', { type: 'text', op: 'insert', index: 0, text: 'kept' }],
    ];
    const before: Record<string, View> = {};
    for (const [member, method, body] of writes) {
      const res = await (method === 'PUT' ? put : post)(url, `${m}/${member}`, body);
      expect(res.status).toBe(200);
      before[member] = res.body;
    }
    // No graceful stop: only what was durable when acknowledged survives.
    node.child.kill('SIGKILL');
    await node.exited;
    node = await startDaemonProcess(dir, cfg);
    for (const [member] of writes)
      expect(await read(node.info.url, `${m}/${member}`)).toEqual(before[member]);
    expect(await read(node.info.url, '/v1/memory')).toEqual({
      documents: [{ name: 'kept', members: writes.length }],
      next: null,
    });
    expect(before.set).toMatchObject({ size: 3 });
    expect(before.bounded).toMatchObject({ value: 9, rights: 9 });
  }, 60_000);
});

describe('shared memory when the event log cannot be written', () => {
  it('refuses the write, stops the node, and keeps only what was acknowledged', async () => {
    const dir = tempDir('memory-fail-stop');
    let daemon = await startDaemon(config(dir, 'failing'));
    try {
      expect((await put(daemon.url, '/v1/memory/d/kept', { type: 'lww', value: 1 })).status).toBe(200);
      // Another connection holds the write lock: the next append fails once its busy timeout ends.
      const lock = new DatabaseSync(join(dir, 'failing', 'meshwork.db'));
      lock.exec('BEGIN EXCLUSIVE');
      try {
        expect((await put(daemon.url, '/v1/memory/d/lost', { type: 'lww', value: 2 })).status).toBe(500);
        await expect(daemon.stopped).rejects.toBeInstanceOf(EventLogError);
      } finally {
        lock.exec('ROLLBACK');
        lock.close();
      }
      daemon = await startDaemon(config(dir, 'failing'));
      expect(await read(daemon.url, '/v1/memory/d')).toMatchObject({
        members: [{ name: 'kept', type: 'lww' }],
      });
    } finally {
      await daemon.stop();
    }
  }, 30_000);
});
