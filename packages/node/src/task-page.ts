import type { TaskView } from '@meshwork/coordinator';
import { ApiError } from './http/route.ts';

export interface TaskPage {
  readonly items: TaskView[];
  /** Pass as `cursor` for the next page; null on the last one. */
  readonly nextCursor: string | null;
}

/** Newest first, ties by id: a total order on what never changes in a task. */
function before(a: TaskView, b: TaskView): number {
  return b.spec.submittedAt - a.spec.submittedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

function encode(task: TaskView): string {
  return Buffer.from(JSON.stringify([task.spec.submittedAt, task.id])).toString('base64url');
}

function decode(cursor: string): { at: number; id: string } {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString());
  } catch {
    key = undefined;
  }
  if (!Array.isArray(key) || typeof key[0] !== 'number' || typeof key[1] !== 'string')
    throw new ApiError(400, 'invalid_request', 'query cursor: not a cursor this API gave', 'cursor');
  return { at: key[0], id: key[1] };
}

/**
 * At most `limit` of `tasks`, newest first, after `cursor`. The cursor is the sort key of the
 * previous page's last task, not an offset: tasks submitted or removed between pages shift
 * nothing, so no task is skipped or repeated (newer tasks come before the first page, not in later ones).
 */
export function taskPage(
  tasks: readonly TaskView[],
  query: { readonly limit: number; readonly cursor?: string | undefined },
): TaskPage {
  const after = query.cursor === undefined ? undefined : decode(query.cursor);
  const rest =
    after === undefined
      ? [...tasks]
      : tasks.filter(
          (t) => t.spec.submittedAt < after.at || (t.spec.submittedAt === after.at && t.id > after.id),
        );
  rest.sort(before);
  const items = rest.slice(0, query.limit);
  const last = items.at(-1);
  return { items, nextCursor: rest.length > query.limit && last !== undefined ? encode(last) : null };
}
