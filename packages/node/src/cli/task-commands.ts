import { InvalidArgumentError, Option, type Command } from 'commander';
import { submitTaskBody } from '../api-schema.ts';
import { formatTable } from '../format.ts';
import { validationError } from '../http/validation.ts';
import { waitUntil } from '../wait.ts';
import {
  integer,
  signedInteger,
  duration,
  json,
  clientOptions,
  client,
  print,
  morePages,
  EXIT_WAIT_DEADLINE,
  deadlineOf,
  inSeconds,
  type ClientFlags,
} from './options.ts';

interface TaskRow {
  id: string;
  type: string;
  status: string;
  epoch?: number;
  agent?: string | null;
  submittedAt?: number;
  reason?: string | null;
}

interface SubmitFlags extends ClientFlags {
  body?: unknown;
  http?: string;
  method?: string;
  data?: unknown;
  handler?: string;
  input?: unknown;
  cwd?: string;
  timeout?: number;
  id?: string;
  type?: string;
  needs?: string[];
  priority?: number;
  dependsOn?: string[];
  maxAttempts?: number;
  runTimeout?: number;
  scheduleToStart?: number;
  idempotencyKey?: string;
  /** `true` waits as long as it takes; a number gives up after that many milliseconds. */
  wait?: true | number;
}

/** `task submit|list|show|cancel` against a running daemon. */
export function addTaskCommands(program: Command): void {
  const task = program.command('task').description('Submit, list, show and cancel tasks on a running daemon');

  clientOptions(
    task
      .command('submit')
      .description(
        'Submit a task. Shell: `meshwork task submit -- <program> [args...]`; HTTP: --http <url>; module: --handler <name>',
      )
      .argument(
        '[argv...]',
        'program and arguments for the shell executor (no shell: passed as an argument vector)',
      )
      .option('--body <json>', 'the whole request body of POST /v1/tasks', json)
      .option('--http <url>', 'use the http executor on this URL')
      .addOption(
        new Option('--method <method>', 'HTTP method').choices([
          'GET',
          'HEAD',
          'POST',
          'PUT',
          'PATCH',
          'DELETE',
        ]),
      )
      .option('--data <json>', 'HTTP request body (JSON)', json)
      .option('--handler <name>', 'use the module executor with this configured handler')
      .option('--input <json>', 'input for the module handler', json)
      .option('--cwd <dir>', 'shell working directory')
      .option('--timeout <ms>', 'executor timeout', integer)
      .option('--id <id>', 'task id (default: generated)')
      .option('--type <type>', 'task type (default: the executor, e.g. executor:shell)')
      .option('--needs <capability...>', 'capabilities the agent needs besides the executor')
      .option('--priority <n>', 'priority, -1000 to 1000 (higher first)', signedInteger)
      .option('--depends-on <id...>', 'tasks that must succeed first')
      .option('--max-attempts <n>', 'retry.maxAttempts: attempts in all', integer)
      .option('--run-timeout <ms>', 'timeouts.runMs: fail an attempt that runs longer', integer)
      .option(
        '--schedule-to-start <ms>',
        'timeouts.scheduleToStartMs: fail the task if no attempt starts by then',
        integer,
      )
      .option('--idempotency-key <key>', 'key passed to executors (default: the task id)')
      .option(
        '--wait [deadline]',
        `wait until the task ends; print it and exit 0 if it succeeded, 1 otherwise; with a deadline (30s, 5m, 1h) exit ${EXIT_WAIT_DEADLINE} if it has not ended by then`,
        duration,
      ),
  ).action(async (argv: string[], flags: SubmitFlags) => {
    let body: Record<string, unknown>;
    if (flags.body !== undefined) {
      body = flags.body as Record<string, unknown>;
    } else {
      let input: Record<string, unknown>;
      if (flags.http !== undefined) {
        input = {
          executor: 'http',
          url: flags.http,
          method: flags.method ?? (flags.data !== undefined ? 'POST' : 'GET'),
        };
        if (flags.data !== undefined) input.body = flags.data;
      } else if (flags.handler !== undefined) {
        input = { executor: 'module', handler: flags.handler, input: flags.input ?? null };
      } else if (argv.length > 0) {
        input = { executor: 'shell', argv, ...(flags.cwd !== undefined ? { cwd: flags.cwd } : {}) };
      } else {
        throw new InvalidArgumentError(
          'give a command after --, or --http <url>, --handler <name> or --body <json>',
        );
      }
      if (flags.timeout !== undefined) input.timeoutMs = flags.timeout;
      body = {
        input,
        ...(flags.id !== undefined ? { id: flags.id } : {}),
        ...(flags.type !== undefined ? { type: flags.type } : {}),
        ...(flags.needs !== undefined ? { needs: flags.needs } : {}),
        ...(flags.priority !== undefined ? { priority: flags.priority } : {}),
        ...(flags.dependsOn !== undefined ? { dependsOn: flags.dependsOn } : {}),
        ...(flags.maxAttempts !== undefined ? { retry: { maxAttempts: flags.maxAttempts } } : {}),
        ...(flags.runTimeout !== undefined || flags.scheduleToStart !== undefined
          ? {
              timeouts: {
                ...(flags.runTimeout !== undefined && { runMs: flags.runTimeout }),
                ...(flags.scheduleToStart !== undefined && { scheduleToStartMs: flags.scheduleToStart }),
              },
            }
          : {}),
        ...(flags.idempotencyKey !== undefined ? { idempotencyKey: flags.idempotencyKey } : {}),
      };
    }
    // Checked here as the daemon checks it, so a mistake is named before anything is sent.
    const checked = submitTaskBody.safeParse(body);
    if (!checked.success) throw new InvalidArgumentError(validationError(checked.error, '').message);
    type WaitedTask = TaskRow & { result?: unknown; error?: string | null; removed?: boolean };
    const c = client(flags);
    const created = await c.post<WaitedTask>('/v1/tasks', body);
    if (flags.wait === undefined) {
      print(flags, created, () => `submitted ${created.id} (${created.status})`);
      return;
    }
    const path = `/v1/tasks/${encodeURIComponent(created.id)}`;
    const deadlineMs = deadlineOf(flags.wait);
    const task = await waitUntil(
      () => c.get<WaitedTask>(path),
      // A removed task is finished: its status is null only when this node did not see it end.
      (t) => t.removed === true || ['succeeded', 'failed', 'cancelled'].includes(t.status),
      {
        first: created,
        deadlineMs,
        describe: (t) =>
          `task ${t.id} is still ${t.status} after ${inSeconds(deadlineMs)} (--wait); it goes on: meshwork task show ${t.id}, meshwork task cancel ${t.id}`,
      },
    );
    print(flags, task, () =>
      task.status === 'succeeded'
        ? `${task.id} succeeded on ${task.agent ?? '?'}: ${JSON.stringify(task.result)}`
        : `${task.id} ${task.status}${task.error ? `: ${task.error}` : ''}`,
    );
    if (task.status !== 'succeeded') process.exitCode = 1;
  });

  clientOptions(
    task
      .command('list')
      .description('List tasks, newest first')
      .addOption(
        new Option('--status <status>', 'only tasks with this status').choices([
          'pending',
          'claimed',
          'running',
          'succeeded',
          'failed',
          'cancelled',
        ]),
      )
      .option('--limit <n>', 'at most this many', integer, 100)
      .option('--cursor <cursor>', 'the page after the one that printed this cursor'),
  ).action(async (flags: ClientFlags & { status?: string; limit: number; cursor?: string }) => {
    const query = new URLSearchParams({
      limit: String(flags.limit),
      ...(flags.status ? { status: flags.status } : {}),
      ...(flags.cursor ? { cursor: flags.cursor } : {}),
    });
    const page = await client(flags).get<{ items: TaskRow[]; nextCursor: string | null }>(
      `/v1/tasks?${query.toString()}`,
    );
    print(flags, page, () => {
      const table = formatTable(
        ['ID', 'TYPE', 'STATUS', 'EPOCH', 'AGENT', 'SUBMITTED'],
        page.items.map((t) => [
          t.id,
          t.type,
          t.status,
          String(t.epoch ?? ''),
          t.agent ?? '',
          t.submittedAt ? new Date(t.submittedAt).toISOString() : '',
        ]),
      );
      return morePages(table, page.nextCursor);
    });
  });

  clientOptions(
    task.command('show').description('Show one task with its attempts').argument('<id>', 'task id'),
  ).action(async (id: string, flags: ClientFlags) => {
    const c = client(flags);
    const shown = await c.get<Record<string, unknown>>(`/v1/tasks/${encodeURIComponent(id)}`);
    print(flags, shown, () =>
      shown.removed === true
        ? `${id} finished${typeof shown.status === 'string' ? ` (${shown.status})` : ''} and was removed from the mesh after the retention period; this node's archive:\n${JSON.stringify(shown, null, 2)}`
        : JSON.stringify(shown, null, 2),
    );
  });

  clientOptions(
    task
      .command('cancel')
      .description('Cancel a task (reaches a running executor as an abort)')
      .argument('<id>', 'task id'),
  ).action(async (id: string, flags: ClientFlags) => {
    const cancelled = await client(flags).post<TaskRow>(`/v1/tasks/${encodeURIComponent(id)}/cancel`, {});
    print(flags, cancelled, () => `cancelled ${cancelled.id} (${cancelled.status})`);
  });
}
