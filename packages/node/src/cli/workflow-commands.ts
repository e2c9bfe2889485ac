import { readFileSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { formatTable } from '../format.ts';
import { waitUntil } from '../wait.ts';
import {
  integer,
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

interface WorkflowRow {
  id: string;
  name: string;
  status: 'running' | 'succeeded' | 'failed';
  steps: Record<string, string>;
  tasks: string[];
  reason: string | null;
}

function workflowLine(run: WorkflowRow): string {
  return `${run.id} (${run.name}) ${run.status}${run.reason !== null ? `: ${run.reason}` : ''}`;
}

/** `workflow start|list|show` against a running daemon. */
export function addWorkflowCommands(program: Command): void {
  const workflow = program
    .command('workflow')
    .description('Start, list and show workflow runs on a running daemon');

  clientOptions(
    workflow
      .command('start')
      .description(
        'Start a run of a template: one configured on the daemon (see its config: workflows), or one in a JSON file',
      )
      .argument('[template]', 'name of a template configured on the daemon')
      .option('--file <file>', 'a template definition in a JSON file instead of a configured name')
      .option('--params <json>', 'parameters of the run (a JSON object)', json)
      .option('--id <id>', 'run id (default: generated)')
      .option(
        '--wait [deadline]',
        `wait until the run ends; exit 0 if it succeeded, 1 otherwise; with a deadline (30s, 5m, 1h) exit ${EXIT_WAIT_DEADLINE} if it has not ended by then`,
        duration,
      ),
  ).action(
    async (
      name: string | undefined,
      flags: ClientFlags & { file?: string; params?: unknown; id?: string; wait?: true | number },
    ) => {
      if ((name === undefined) === (flags.file === undefined)) {
        throw new InvalidArgumentError('give either a template name or --file <template.json>');
      }
      let template: unknown = name;
      if (flags.file !== undefined) {
        try {
          template = JSON.parse(readFileSync(flags.file, 'utf8')) as unknown;
        } catch (err) {
          throw new InvalidArgumentError(
            `--file: cannot read a JSON template from ${flags.file} (${(err as Error).message})`,
          );
        }
      }
      const c = client(flags);
      const started = await c.post<WorkflowRow>('/v1/workflows', {
        template,
        ...(flags.params !== undefined ? { params: flags.params } : {}),
        ...(flags.id !== undefined ? { id: flags.id } : {}),
      });
      if (flags.wait === undefined) {
        print(flags, started, () => `started ${workflowLine(started)}`);
        return;
      }
      const deadlineMs = deadlineOf(flags.wait);
      const run = await waitUntil(
        () => c.get<WorkflowRow>(`/v1/workflows/${encodeURIComponent(started.id)}`),
        (r) => r.status !== 'running',
        {
          first: started,
          deadlineMs,
          describe: (r) =>
            `workflow ${r.id} is still running after ${inSeconds(deadlineMs)} (--wait); it goes on: meshwork workflow show ${r.id}`,
        },
      );
      print(flags, run, () => workflowLine(run));
      if (run.status !== 'succeeded') process.exitCode = 1;
    },
  );

  clientOptions(
    workflow
      .command('list')
      .description('List workflow runs, by run id')
      .option('--limit <n>', 'at most this many', integer, 100)
      .option('--cursor <cursor>', 'the page after the one that printed this cursor'),
  ).action(async (flags: ClientFlags & { limit: number; cursor?: string }) => {
    const query = new URLSearchParams({
      limit: String(flags.limit),
      ...(flags.cursor ? { cursor: flags.cursor } : {}),
    });
    const page = await client(flags).get<{ items: WorkflowRow[]; nextCursor: string | null }>(
      `/v1/workflows?${query.toString()}`,
    );
    print(flags, page, () =>
      morePages(
        formatTable(
          ['RUN', 'TEMPLATE', 'STATUS', 'TASKS', 'REASON'],
          page.items.map((r) => [r.id, r.name, r.status, String(r.tasks.length), r.reason ?? '']),
        ),
        page.nextCursor,
      ),
    );
  });

  clientOptions(
    workflow.command('show').description('Show one run: its steps and tasks').argument('<id>', 'run id'),
  ).action(async (id: string, flags: ClientFlags) => {
    const run = await client(flags).get<WorkflowRow>(`/v1/workflows/${encodeURIComponent(id)}`);
    print(
      flags,
      run,
      () =>
        `${workflowLine(run)}\n${formatTable(
          ['STEP', 'STATE'],
          Object.entries(run.steps),
        )}\ntasks: ${run.tasks.join(' ')}`,
    );
  });
}
