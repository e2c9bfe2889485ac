import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataLimits } from '@meshwork/coordinator';
import {
  api,
  API_KEY,
  runCli,
  startDaemonProcess,
  tempDir,
  type DaemonProcess,
} from './support/processes.ts';

interface ErrorBody {
  error: { code: string; message: string; field?: string };
}

/** A module input whose own `input` is `levels` arrays deep: the task input is one level more. */
function nested(levels: number): unknown {
  let v: unknown = 'leaf';
  for (let i = 0; i < levels; i++) v = [v];
  return { executor: 'module', handler: 'h', input: v };
}

/** `POST /v1/tasks` with such an input, written as text: JSON.stringify itself overflows on the deepest. */
async function submitNested(url: string, levels: number): Promise<{ status: number; body: ErrorBody }> {
  const input = `${'['.repeat(levels)}"leaf"${']'.repeat(levels)}`;
  const res = await fetch(`${url}/v1/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` },
    body: `{"input":{"executor":"module","handler":"h","input":${input}}}`,
  });
  return { status: res.status, body: (await res.json()) as ErrorBody };
}

describe('submissions are held to the limits every peer and every restart can read back', () => {
  const dir = tempDir('limits');
  const config = { name: 'limits-node' };
  let node: DaemonProcess;
  beforeAll(async () => {
    node = await startDaemonProcess(dir, config);
  });
  afterAll(() => node.child.kill('SIGKILL'));

  it('refuses inputs nested past the limit with a 400 naming it, and survives hostile depths', async () => {
    for (const levels of [dataLimits.maxValueDepth, 1_000, 5_000, 100_000]) {
      const res = await submitNested(node.info.url, levels);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('limit_exceeded');
      expect(res.body.error.message).toContain(`maxValueDepth (${dataLimits.maxValueDepth})`);
      expect(res.body.error.field).toBe('input');
    }
    expect((await api(node.info.url, '/healthz')).status).toBe(200);
    expect((await api<{ items: unknown[] }>(node.info.url, '/v1/tasks')).body.items).toEqual([]);
  });

  it('refuses the same in a workflow’s params', async () => {
    let deep: unknown = 1;
    for (let i = 0; i < 1_000; i++) deep = [deep];
    const res = await api<ErrorBody>(node.info.url, '/v1/workflows', {
      body: {
        template: { name: 'w', steps: [{ id: 's', type: 'executor:shell', input: { executor: '"shell"' } }] },
        params: { deep },
      },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('limit_exceeded');
    expect(res.body.error.field).toBe('params');
  });

  it('refuses inputs that can never run, at submission', async () => {
    const cases: [unknown, string][] = [
      [{ executor: 'shell', argv: ['echo', 'a\u0000b'] }, 'input.argv.1'],
      [{ executor: 'shell', argv: ['\u0000'] }, 'input.argv.0'],
      [{ executor: 'shell', argv: [] }, 'input.argv'],
      [{ executor: 'shell', argv: [''] }, 'input.argv.0'],
      [{ executor: 'shell', argv: ['ls', 7] }, 'input.argv.1'],
      [{ executor: 'shell', argv: ['ls'], cwd: '/tmp\u0000' }, 'input.cwd'],
      [{ executor: 'teleport' }, 'input.executor'],
      [{ executor: 'http', url: 'http://' }, 'input.url'],
      [{ executor: 'http', url: 'http://[::1' }, 'input.url'],
      [{ executor: 'http', url: 'http://example.com/', headers: { 'bad header': 'x' } }, 'input.headers'],
      [{ executor: 'http', url: 'http://example.com/', headers: { a: 'x\r\ny' } }, 'input.headers.a'],
    ];
    for (const [input, field] of cases) {
      const res = await api<ErrorBody>(node.info.url, '/v1/tasks', { body: { input } });
      expect({ input, status: res.status }).toEqual({ input, status: 400 });
      expect(res.body.error.field).toContain(field);
    }
    expect((await api<{ items: unknown[] }>(node.info.url, '/v1/tasks')).body.items).toEqual([]);
  });

  it('answers 400 for malformed percent-escapes in paths', async () => {
    for (const path of ['/v1/tasks/%E0%A4%A', '/v1/tasks/%E0%A4%A/history', '/v1/workflows/%ZZ%']) {
      const res = await api<ErrorBody>(node.info.url, path);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_path');
    }
    expect((await api(node.info.url, '/healthz')).status).toBe(200);
  });

  it('the CLI reports the refusal and exits non-zero', async () => {
    const res = await runCli([
      'task',
      'submit',
      '--url',
      node.info.url,
      '--api-key',
      API_KEY,
      '--handler',
      'h',
      '--input',
      JSON.stringify((nested(200) as { input: unknown }).input),
    ]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('maxValueDepth');
  });

  it('accepts an input at the limit, refuses the one peers refused, and the node restarts', async () => {
    const res = await api<{ id: string }>(node.info.url, '/v1/tasks', {
      body: { id: 'deepest', input: nested(dataLimits.maxValueDepth - 1) },
    });
    expect(res.status).toBe(201);
    const refused = await api(node.info.url, '/v1/tasks', {
      body: { id: 'too-deep', input: nested(dataLimits.maxValueDepth) },
    });
    expect(refused.status).toBe(400);
    node.child.kill('SIGTERM');
    expect(await node.exited).toBe(0);
    node = await startDaemonProcess(dir, config);
    const back = await api<{ id: string; input: unknown }>(node.info.url, '/v1/tasks/deepest');
    expect(back.status).toBe(200);
    expect(back.body.input).toEqual(nested(dataLimits.maxValueDepth - 1));
  });
});
