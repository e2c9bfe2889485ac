import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyWebhook } from '../src/webhooks/signature.ts';
import { api, startDaemonProcess, tempDir, waitFor, type DaemonProcess } from './support/processes.ts';

const SECRET = 'webhook-secret-0123456789';

/** What the receiver does with one request: answer `status` after `delayMs`, or never (`hang`). */
interface Answer {
  status?: number;
  delayMs?: number;
  hang?: boolean;
}
interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  /** The status it answered with, once the answer went out whole; undefined while pending or if the sender gave up. */
  answered?: number;
}
interface EventBody {
  id: string;
  type: string;
  occurredAt: number;
  node: string;
  attempt?: { epoch: number; agent: string };
  task: { id: string; status: string; result: { stdout?: string } | null; error: string | null };
}

/** A local HTTP endpoint whose answers the test sets request by request. */
async function receiver(answer: (n: number) => Answer) {
  const received: Received[] = [];
  let behaviour = answer;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const r: Received = { headers: req.headers, body };
      received.push(r);
      const a = behaviour(received.length);
      if (a.hang === true) return;
      setTimeout(() => {
        if (res.destroyed) return;
        res.once('finish', () => (r.answered = a.status ?? 200));
        res.writeHead(a.status ?? 200).end();
      }, a.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    answer(next: (n: number) => Answer) {
      behaviour = next;
    },
    /** Event ids that got a 2xx answer. */
    delivered(): Set<string> {
      return new Set(
        received
          .filter((r) => r.answered !== undefined && r.answered < 300)
          .map((r) => String(r.headers['meshwork-event-id'])),
      );
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The signature as the README tells a receiver to compute it, independent of the node's code. */
function expectSigned(r: Received): void {
  const timestamp = String(r.headers['meshwork-timestamp']);
  const expected = createHmac('sha256', SECRET).update(`${timestamp}.${r.body}`).digest('hex');
  expect(r.headers['meshwork-signature']).toBe(`v1=${expected}`);
  expect(Math.abs(Date.now() / 1000 - Number(timestamp))).toBeLessThan(300);
  const body = JSON.parse(r.body) as EventBody;
  expect(r.headers['meshwork-event-id']).toBe(body.id);
  expect(r.headers['meshwork-event-type']).toBe(body.type);
  expect(r.headers['content-type']).toBe('application/json');
}

async function metric(node: DaemonProcess, name: string, labels: string): Promise<number> {
  const text = (await api<string>(node.info.url, '/metrics')).body;
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? NaN : Number(line.split(' ').at(-1));
}

/** Waits until a metric reads `value` (the node records a delivery just after the receiver answered). */
async function expectMetric(node: DaemonProcess, name: string, labels: string, value: number): Promise<void> {
  let last = NaN;
  try {
    await waitFor(`${name}{${labels}} to be ${value}`, 10_000, async () =>
      (last = await metric(node, name, labels)) === value ? true : undefined,
    );
  } catch {
    expect(last).toBe(value);
  }
}

describe('webhooks', () => {
  const dir = tempDir('webhooks');
  const daemons: DaemonProcess[] = [];
  const receivers: { close(): Promise<void> }[] = [];
  afterAll(async () => {
    for (const d of daemons) d.child.kill('SIGKILL');
    await Promise.all(receivers.map((r) => r.close()));
  });

  const start = async (name: string, hook: Record<string, unknown>) => {
    const d = await startDaemonProcess(dir, {
      name,
      logLevel: 'warn',
      agents: [{ id: `${name}-shell`, capacity: 4, executors: { shell: {} } }],
      webhooks: [{ name: 'rx', secret: SECRET, timeoutMs: 500, ...hook }],
    });
    daemons.push(d);
    return d;
  };
  const submit = async (
    node: DaemonProcess,
    id: string,
    argv: string[],
    extra: Record<string, unknown> = {},
  ) =>
    expect(
      (await api(node.info.url, '/v1/tasks', { body: { id, input: { executor: 'shell', argv }, ...extra } }))
        .status,
    ).toBe(201);
  const bodies = (rx: { received: Received[] }) => rx.received.map((r) => JSON.parse(r.body) as EventBody);
  const eventsOf = (rx: { received: Received[] }, task: string) =>
    [
      ...new Set(
        bodies(rx)
          .filter((b) => b.task.id === task)
          .map((b) => b.type),
      ),
    ].sort();

  it('POSTs every task event, signed over the timestamp and body, with an id that de-duplicates', async () => {
    const rx = await receiver(() => ({ status: 204 }));
    receivers.push(rx);
    const node = await start('hooked', { url: rx.url });
    await submit(node, 'ok-1', ['echo', 'hi']);
    await submit(node, 'bad-1', ['false'], { retry: { maxAttempts: 1 } });
    await submit(node, 'cancel-1', ['sleep', '30']);
    await waitFor('cancel-1 to run', 20_000, async () =>
      (await api<{ status: string }>(node.info.url, '/v1/tasks/cancel-1')).body.status === 'running'
        ? true
        : undefined,
    );
    expect((await api(node.info.url, '/v1/tasks/cancel-1/cancel', { body: {} })).status).toBe(200);
    await waitFor('the events of the three tasks', 30_000, () =>
      eventsOf(rx, 'ok-1').length === 3 &&
      eventsOf(rx, 'bad-1').length === 3 &&
      eventsOf(rx, 'cancel-1').length === 3
        ? true
        : undefined,
    );
    expect(eventsOf(rx, 'ok-1')).toEqual(['task.started', 'task.submitted', 'task.succeeded']);
    expect(eventsOf(rx, 'bad-1')).toEqual(['task.failed', 'task.started', 'task.submitted']);
    expect(eventsOf(rx, 'cancel-1')).toEqual(['task.cancelled', 'task.started', 'task.submitted']);
    for (const r of rx.received) {
      expectSigned(r);
      expect(r.headers['meshwork-delivery-attempt']).toBe('1');
      expect(
        verifyWebhook(SECRET, {
          timestamp: String(r.headers['meshwork-timestamp']),
          signature: String(r.headers['meshwork-signature']),
          body: r.body,
        }),
      ).toBe(true);
      expect(
        verifyWebhook(SECRET, {
          timestamp: String(r.headers['meshwork-timestamp']),
          signature: String(r.headers['meshwork-signature']),
          body: `${r.body} `,
        }),
      ).toBe(false);
    }
    // Nothing was sent twice: each event once, each id its own.
    const ids = rx.received.map((r) => String(r.headers['meshwork-event-id']));
    expect(new Set(ids).size).toBe(ids.length);
    const all = bodies(rx);
    const ok = all.find((b) => b.task.id === 'ok-1' && b.type === 'task.succeeded')!;
    expect(ok).toMatchObject({ node: 'hooked', task: { status: 'succeeded', result: { stdout: 'hi\n' } } });
    const started = all.find((b) => b.task.id === 'ok-1' && b.type === 'task.started')!;
    expect(started.attempt).toMatchObject({ epoch: 1, agent: 'hooked-shell' });
    expect(all.find((b) => b.task.id === 'bad-1' && b.type === 'task.failed')!.task.error).toContain(
      'exited with code 1',
    );
    await expectMetric(node, 'meshwork_webhook_deliveries_total', 'webhook="rx",outcome="delivered"', 9);
    await expectMetric(node, 'meshwork_webhook_outbox_pending', 'webhook="rx"', 0);
  });

  it('retries a receiver that fails, times out and answers slowly until each event got a 2xx', async () => {
    // Requests 1-3 fail, 4-5 get no answer, 6-7 are answered after the sender gave up, then slowly but in time.
    const rx = await receiver((n) =>
      n <= 3 ? { status: 500 } : n <= 5 ? { hang: true } : n <= 7 ? { delayMs: 900 } : { delayMs: 200 },
    );
    receivers.push(rx);
    const node = await start('flaky', {
      url: rx.url,
      concurrency: 1,
      retry: { initialMs: 50, maxMs: 400, maxAttempts: 50 },
    });
    await submit(node, 'retry-1', ['echo', 'again']);
    const expected = await waitFor('the three events delivered', 60_000, () => {
      const types = new Set(bodies(rx).map((b) => b.type));
      return types.size === 3 && rx.delivered().size === 3 ? rx.delivered() : undefined;
    });
    expect(expected.size).toBe(3);
    for (const r of rx.received) expectSigned(r);
    // Each event's deliveries count up; the ones sent before the receiver recovered came again.
    const attempts = new Map<string, number[]>();
    for (const r of rx.received) {
      const id = String(r.headers['meshwork-event-id']);
      attempts.set(id, [...(attempts.get(id) ?? []), Number(r.headers['meshwork-delivery-attempt'])]);
    }
    for (const seq of attempts.values()) expect(seq).toEqual(seq.map((_, i) => i + 1));
    expect(Math.max(...[...attempts.values()].map((s) => s.length))).toBeGreaterThan(1);
    // The answers that came after the timeout reached a sender that had given up: those events came again.
    const late = rx.received.slice(5, 7).map((r) => String(r.headers['meshwork-event-id']));
    for (const id of late) expect(attempts.get(id)!.length).toBeGreaterThan(1);
    expect(
      await metric(node, 'meshwork_webhook_deliveries_total', 'webhook="rx",outcome="failed"'),
    ).toBeGreaterThanOrEqual(7);
    await expectMetric(node, 'meshwork_webhook_deliveries_total', 'webhook="rx",outcome="delivered"', 3);
    await expectMetric(node, 'meshwork_webhook_outbox_pending', 'webhook="rx"', 0);
  });

  it('keeps undelivered events across a SIGKILL and delivers them after the restart, without resending delivered ones', async () => {
    const rx = await receiver(() => ({ status: 200 }));
    receivers.push(rx);
    const hook = { url: rx.url, retry: { initialMs: 100, maxMs: 500, maxAttempts: 1000 } };
    let node = await start('restarted', hook);
    await submit(node, 'before-1', ['echo', 'one']);
    await waitFor('before-1 delivered', 30_000, () =>
      eventsOf(rx, 'before-1').length === 3 && rx.delivered().size === 3 ? true : undefined,
    );
    const deliveredBefore = rx.delivered();
    // The receiver goes down; new events wait in the outbox.
    rx.answer(() => ({ status: 503 }));
    await submit(node, 'during-1', ['echo', 'two']);
    await submit(node, 'during-2', ['echo', 'three']);
    await waitFor('six events pending', 30_000, async () =>
      (await metric(node, 'meshwork_webhook_outbox_pending', 'webhook="rx"')) === 6 ? true : undefined,
    );
    node.child.kill('SIGKILL');
    await node.exited;
    rx.answer(() => ({ status: 200 }));
    node = await start('restarted', hook);
    await waitFor('the pending events delivered after the restart', 30_000, () =>
      rx.delivered().size === 9 ? true : undefined,
    );
    expect(eventsOf(rx, 'during-1')).toEqual(['task.started', 'task.submitted', 'task.succeeded']);
    expect(eventsOf(rx, 'during-2')).toEqual(['task.started', 'task.submitted', 'task.succeeded']);
    await expectMetric(node, 'meshwork_webhook_outbox_pending', 'webhook="rx"', 0);
    // Events delivered before the kill are known after the restart and not sent again.
    const sends = (id: string) => rx.received.filter((r) => r.headers['meshwork-event-id'] === id).length;
    for (const id of deliveredBefore) expect(sends(id)).toBe(1);
  });

  it('bounds the outbox: past maxPending new events are dropped and counted', async () => {
    const rx = await receiver(() => ({ status: 500 }));
    receivers.push(rx);
    const node = await start('bounded', {
      url: rx.url,
      maxPending: 4,
      retry: { initialMs: 60_000, maxMs: 60_000 },
    });
    await submit(node, 'full-1', ['echo', 'a']);
    await submit(node, 'full-2', ['echo', 'b']);
    await submit(node, 'full-3', ['echo', 'c']);
    await waitFor('the tasks to finish', 30_000, async () => {
      const done = await api<{ items: unknown[] }>(node.info.url, '/v1/tasks?status=succeeded');
      return done.body.items.length === 3 ? true : undefined;
    });
    const dropped = await waitFor('9 events: 4 kept, 5 dropped', 10_000, async () => {
      const pending = await metric(node, 'meshwork_webhook_outbox_pending', 'webhook="rx"');
      const n = await metric(node, 'meshwork_webhook_dropped_total', 'webhook="rx"');
      return pending === 4 && n === 5 ? n : undefined;
    });
    expect(dropped).toBe(5);
    expect((await api(node.info.url, '/healthz')).status).toBe(200);
  });
});
