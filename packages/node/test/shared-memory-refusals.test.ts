import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataLimits } from '@meshwork/coordinator';
import { parseConfig } from '../src/config.ts';
import { startDaemon, type Daemon } from '../src/daemon.ts';
import { MemoryError } from '../src/memory/memory-error.ts';
import { api, API_KEY, tempDir } from './support/processes.ts';

interface ErrorBody {
  error: { code: string; message: string; field?: string };
}

/** Sends `body` as JSON text (a deep value would overflow JSON.stringify). */
async function send(url: string, method: string, path: string, body: string) {
  const res = await fetch(url + path, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` },
    body,
  });
  return { status: res.status, body: (await res.json()) as ErrorBody };
}

const nested = (levels: number): string => `${'['.repeat(levels)}"leaf"${']'.repeat(levels)}`;

describe('shared memory refusals', () => {
  const dir = tempDir('memory-refusals');
  let daemon: Daemon;
  let url = '';
  beforeAll(async () => {
    daemon = await startDaemon(
      parseConfig(
        {
          name: 'refusals',
          dataDir: join(dir, 'data'),
          apiKey: API_KEY,
          http: { port: 0 },
          logLevel: 'silent',
          limits: { maxMemoryDocuments: 3, maxMemoryMembers: 3 },
        },
        dir,
      ),
    );
    url = daemon.url;
  });
  afterAll(() => daemon.stop());

  /** Events this node appended to its SQLite log: a refusal must not add any. */
  const storedEvents = async (): Promise<number> => {
    const { body } = await api<string>(url, '/metrics');
    return Number(/^meshwork_store_events_total (\d+)$/m.exec(body)![1]);
  };

  /** Expects a refusal with `status`, `code` and `field`, and that nothing was written. */
  async function refused(
    call: () => Promise<{ status: number; body: unknown }>,
    status: number,
    code: string,
    field: string,
    says: string[] = [],
  ): Promise<void> {
    const [events, documents] = [await storedEvents(), (await api(url, '/v1/memory')).body];
    const res = await call();
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    const { error } = res.body as ErrorBody;
    expect(error).toMatchObject({ code, field });
    for (const s of says) expect(error.message).toContain(s);
    expect(await storedEvents()).toBe(events);
    expect((await api(url, '/v1/memory')).body).toEqual(documents);
  }

  const write = (path: string, body: unknown) => api(url, `/v1/memory/${path}`, { body });

  it('refuses an unknown type, bad names and malformed operations', async () => {
    await refused(() => write('d/m', { type: 'map', op: 'set', value: 1 }), 400, 'invalid_request', 'type', [
      'lww',
      'text',
    ]);
    await refused(
      () => write('d/m', { type: 'orset', op: 'add', values: [] }),
      400,
      'invalid_request',
      'values',
    );
    const many = Array.from({ length: 10_001 }, (_, i) => i);
    await refused(
      () => write('d/m', { type: 'orset', op: 'add', values: many }),
      400,
      'invalid_request',
      'values',
    );
    for (const [path, field] of [
      ['bad%20name/m', 'document'],
      ['-d/m', 'document'],
      [`${'d'.repeat(65)}/m`, 'document'],
      ['d/bad%2Fname', 'member'],
      [`d/${'m'.repeat(129)}`, 'member'],
    ]) {
      await refused(
        () => write(path!, { type: 'lww', op: 'set', value: 1 }),
        400,
        'invalid_request',
        field!,
        [field!],
      );
    }
    await refused(
      () => api(url, '/v1/memory/bad%20name', { method: 'PUT', body: {} }),
      400,
      'invalid_request',
      'document',
    );
    expect((await api<ErrorBody>(url, '/v1/memory/bad%20name')).body.error.field).toBe('document');
    expect((await api(url, '/v1/memory')).body).toEqual({ documents: [], next: null });
  });

  it('refuses values past the limits task data has, naming the field', async () => {
    expect((await write('d/reg', { type: 'lww', op: 'set', value: 'first' })).status).toBe(200);
    for (const levels of [dataLimits.maxValueDepth + 1, 100_000]) {
      const value = nested(levels);
      await refused(
        () => send(url, 'PUT', '/v1/memory/d/reg', `{"type":"lww","value":${value}}`),
        400,
        'limit_exceeded',
        'value',
        [`maxValueDepth (${dataLimits.maxValueDepth})`],
      );
      await refused(
        () => send(url, 'POST', '/v1/memory/d/set', `{"type":"orset","op":"add","values":[1,${value}]}`),
        400,
        'limit_exceeded',
        'values.1',
      );
      await refused(
        () =>
          send(
            url,
            'POST',
            '/v1/memory/d/g',
            `{"type":"graph","op":"addVertex","id":"v","attrs":{"k":${value}}}`,
          ),
        400,
        'limit_exceeded',
        'attrs.k',
      );
    }
    // Just inside the limit is stored and read back.
    const inside = await send(
      url,
      'PUT',
      '/v1/memory/d/reg',
      `{"type":"lww","value":${nested(dataLimits.maxValueDepth)}}`,
    );
    expect(inside.status).toBe(200);
    expect((await api<{ members: unknown[] }>(url, '/v1/memory/d')).body.members).toEqual([
      { name: 'reg', type: 'lww', conflicts: [] },
    ]);
  });

  it('refuses a write of another type to a member with 409, naming the member and both types', async () => {
    const before = (await api(url, '/v1/memory/d/reg')).body;
    await refused(
      () => write('d/reg', { type: 'orset', op: 'add', values: [1] }),
      409,
      'type_conflict',
      'type',
      ['reg', 'lww', 'orset'],
    );
    await refused(
      () => api(url, '/v1/memory/d/reg', { method: 'PUT', body: { type: 'mvregister', value: 1 } }),
      409,
      'type_conflict',
      'type',
      ['mvregister'],
    );
    expect((await api(url, '/v1/memory/d/reg')).body).toEqual(before);
  });

  it('refuses operations the member’s state cannot take, creating nothing', async () => {
    await refused(
      () => write('d/slots', { type: 'boundedcounter', op: 'decrement', by: 2 }),
      409,
      'insufficient_rights',
      'by',
      ['holds 0'],
    );
    await refused(
      () => write('d/slots', { type: 'boundedcounter', op: 'transfer', to: daemon.peerId, by: 1 }),
      400,
      'invalid_request',
      'to',
    );
    await refused(
      () => write('d/g', { type: 'graph', op: 'addEdge', from: 'x', to: 'y' }),
      409,
      'missing_vertex',
      'from',
    );
    await refused(
      () => write('d/t', { type: 'text', op: 'insert', index: 1, text: 'x' }),
      400,
      'invalid_request',
      'index',
    );
    await refused(
      () => write('d/ts', { type: 'timeseries', op: 'retain', before: Date.now() + 3_600_000 }),
      400,
      'invalid_request',
      'before',
    );
    for (const member of ['slots', 'g', 't', 'ts']) {
      const res = await api<ErrorBody>(url, `/v1/memory/d/${member}`);
      expect(res.status).toBe(404);
      expect(res.body.error).toMatchObject({ code: 'not_found', field: 'member' });
    }
    expect((await write('d/g', { type: 'graph', op: 'addVertex', id: 'x' })).status).toBe(200);
    await refused(
      () => write('d/g', { type: 'graph', op: 'addEdge', from: 'x', to: 'y' }),
      409,
      'missing_vertex',
      'to',
      ['"y"'],
    );
    await refused(
      () => write('d/g', { type: 'text', op: 'delete', index: 0, length: 1 }),
      409,
      'type_conflict',
      'type',
    );
  });

  it('answers reads of what does not exist with 404, and queries a type does not take with 400', async () => {
    expect((await api<ErrorBody>(url, '/v1/memory/nope')).body.error).toMatchObject({
      code: 'not_found',
      field: 'document',
    });
    expect((await api<ErrorBody>(url, '/v1/memory/nope/m')).status).toBe(404);
    expect((await api<ErrorBody>(url, '/v1/memory/d/reg?vertex=x')).body.error).toMatchObject({
      code: 'invalid_request',
      field: 'vertex',
    });
    expect((await api<ErrorBody>(url, '/v1/memory/d/g?vertex=nope')).body.error).toMatchObject({
      code: 'not_found',
      field: 'vertex',
    });
  });

  it('caps documents and members per limits, naming the limit', async () => {
    // d holds reg and g; one more member fits.
    expect((await write('d/third', { type: 'pncounter', op: 'increment' })).status).toBe(200);
    await refused(
      () => write('d/fourth', { type: 'pncounter', op: 'increment' }),
      400,
      'limit_exceeded',
      'member',
      ['limits.maxMemoryMembers = 3'],
    );
    expect((await write('d/third', { type: 'pncounter', op: 'increment' })).status).toBe(200);

    for (const name of ['e', 'f']) {
      expect((await api(url, `/v1/memory/${name}`, { method: 'PUT', body: {} })).status).toBe(201);
    }
    expect((await api(url, '/v1/memory/e', { method: 'PUT', body: {} })).status).toBe(200);
    await refused(
      () => api(url, '/v1/memory/g', { method: 'PUT', body: {} }),
      400,
      'limit_exceeded',
      'document',
      ['limits.maxMemoryDocuments = 3'],
    );
    await refused(
      () => write('g/m', { type: 'lww', op: 'set', value: 1 }),
      400,
      'limit_exceeded',
      'document',
    );
    const first = await api<{ documents: { name: string }[]; next: string }>(url, '/v1/memory?limit=2');
    expect(first.body.documents.map((d) => d.name)).toEqual(['d', 'e']);
    const rest = await api(url, `/v1/memory?limit=2&cursor=${first.body.next}`);
    expect(rest.body).toEqual({ documents: [{ name: 'f', members: 0 }], next: null });
  });

  it('answers the same through the typed interface, without HTTP', () => {
    const view = daemon.memory.write('f', 'direct', { type: 'pncounter', op: 'increment', by: 2 });
    expect(view).toMatchObject({
      document: 'f',
      member: 'direct',
      type: 'pncounter',
      value: 2,
      conflicts: [],
    });
    expect(daemon.memory.read('f', 'direct')).toEqual(view);
    expect(daemon.memory.members('f')).toEqual({
      document: 'f',
      members: [{ name: 'direct', type: 'pncounter', conflicts: [] }],
      next: null,
    });
    const conflict = (() => {
      try {
        daemon.memory.write('f', 'direct', { type: 'lww', op: 'set', value: 1 });
      } catch (err) {
        return err;
      }
    })();
    expect(conflict).toBeInstanceOf(MemoryError);
    expect(conflict).toMatchObject({ code: 'type_conflict', field: 'type' });
    expect(() => daemon.memory.create('h')).toThrow(MemoryError);
  });
});
