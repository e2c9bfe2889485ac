/**
 * A pull worker written from the node README alone: plain `fetch`, no Meshwork code. It
 * registers an agent with capability `math`, heartbeats, long-polls, and handles three task
 * types: `sum` (progress, then `{ sum }`), `flaky` (a retryable failure on its first attempt)
 * and `broken` (a permanent failure). Every call's outcome is appended to the log file as a
 * JSON line. SIGTERM: finish the tasks in hand, unregister, exit.
 *
 * Usage: node plain-worker.ts <url> <apiKey> <agentId> <logFile>
 */
import { appendFileSync } from 'node:fs';

interface Task {
  taskId: string;
  epoch: number;
  attempt: number;
  type: string;
  input: { a?: number; b?: number };
}

const [url, apiKey, agentId, logFile] = process.argv.slice(2) as [string, string, string, string];
const log = (entry: object): void => appendFileSync(logFile, `${JSON.stringify(entry)}\n`);

interface Answer {
  status: number;
  body: { [key: string]: unknown };
}

async function call(method: string, path: string, body?: unknown): Promise<Answer> {
  const res = await fetch(url + path, {
    method,
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Answer['body'] };
}

const registered = await call('POST', '/v1/workers', { id: agentId, capabilities: ['math'], capacity: 2 });
log({ call: 'register', status: registered.status, body: registered.body });
if (registered.status !== 201) process.exit(1);
const { workerId, heartbeatMs } = registered.body as { workerId: string; heartbeatMs: number };
const worker = `/v1/workers/${workerId}`;

const heartbeat = setInterval(() => {
  call('POST', `${worker}/heartbeat`, {}).then(
    (res) => {
      if (res.status !== 200 || (res.body.aborted as unknown[]).length > 0)
        log({ call: 'heartbeat', ...res });
    },
    () => {},
  );
}, heartbeatMs);

async function run(task: Task): Promise<void> {
  const at = `${worker}/tasks/${encodeURIComponent(task.taskId)}`;
  let report: Answer;
  if (task.type === 'sum') {
    await call('POST', `${at}/progress`, { epoch: task.epoch, data: { step: 'adding' } });
    report = await call('POST', `${at}/complete`, {
      epoch: task.epoch,
      result: { sum: (task.input.a ?? 0) + (task.input.b ?? 0) },
    });
  } else if (task.type === 'flaky' && task.attempt === 1) {
    report = await call('POST', `${at}/fail`, { epoch: task.epoch, message: 'try again' });
  } else if (task.type === 'broken') {
    report = await call('POST', `${at}/fail`, {
      epoch: task.epoch,
      message: 'cannot be done',
      retryable: false,
    });
  } else {
    report = await call('POST', `${at}/complete`, { epoch: task.epoch, result: 'ok' });
  }
  log({ call: 'report', taskId: task.taskId, epoch: task.epoch, ...report });
}
let stopping = false;
process.on('SIGTERM', () => (stopping = true));
while (!stopping) {
  const polled = await call('POST', `${worker}/poll`, { waitMs: 500, max: 2 });
  if (polled.status !== 200) {
    log({ call: 'poll', ...polled });
    break;
  }
  await Promise.all((polled.body.tasks as Task[]).map(run));
}
clearInterval(heartbeat);
const unregistered = await call('DELETE', worker);
log({ call: 'unregister', ...unregistered });
