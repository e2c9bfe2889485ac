/**
 * A pull worker process built on @meshwork/worker, for tests that kill, pause and stop workers.
 * Every task start and every event is appended to `log` as a JSON line with the time. A task
 * whose input has `hold: <name>` reports progress, then waits until `<holdDir>/<name>` exists (it
 * ignores aborts, as a stuck process would); any task returns `{ n, by }`. SIGTERM stops it
 * gracefully (drain, unregister) and exits 0.
 *
 * Usage: node worker-process.ts '<json: { url, apiKey, agent, log, holdDir }>'
 */
import { appendFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createWorker, type AgentSpec } from '@meshwork/worker';

const options = JSON.parse(process.argv[2]!) as {
  url: string;
  apiKey: string;
  agent: AgentSpec;
  log: string;
  holdDir: string;
};
const log = (entry: object): void =>
  appendFileSync(options.log, `${JSON.stringify({ at: Date.now(), agent: options.agent.id, ...entry })}\n`);

const worker = await createWorker({
  url: options.url,
  apiKey: options.apiKey,
  agent: options.agent,
  handler: async (task, ctx) => {
    log({ event: 'start', taskId: task.taskId, epoch: task.epoch, key: task.idempotencyKey });
    const input = (task.input ?? {}) as { hold?: string; n?: number };
    if (input.hold !== undefined) {
      await ctx.progress({ holding: input.hold });
      const file = join(options.holdDir, input.hold);
      while (!existsSync(file)) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return { n: input.n ?? null, by: options.agent.id };
  },
  onEvent: (event) => {
    if (event.type === 'error') log({ event: 'error', message: event.error.message });
    else if (event.type === 'refused')
      log({
        event: 'refused',
        taskId: event.taskId,
        epoch: event.epoch,
        call: event.call,
        code: event.error.code,
      });
    else log({ ...event, event: event.type });
  },
});
log({ event: 'ready', workerId: worker.workerId });
process.once('SIGTERM', () => {
  void worker.stop({ drainMs: 5_000 }).then(() => {
    log({ event: 'stopped' });
    process.exit(0);
  });
});
