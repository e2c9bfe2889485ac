import { MeshworkError } from '@meshwork/core';
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;

/** How often `waitUntil` asks the daemon again. */
const POLL_MS = 200;

/** Milliseconds in `30s`, `500ms`, `5m`, `1h` or `1.5s`; a bare number counts seconds. `undefined` for anything else. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (match === null) return undefined;
  const ms = Number(match[1]) * UNIT_MS[(match[2] ?? 's') as keyof typeof UNIT_MS];
  return ms > 0 && Number.isFinite(ms) ? Math.round(ms) : undefined;
}

/** `--wait` gave up: what it waited for has not ended, and goes on. */
export class WaitDeadlineError extends MeshworkError {
  override readonly name = 'WaitDeadlineError';
  constructor(message: string) {
    super('deadline_exceeded', message, { field: 'wait' });
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Reads `read()` until `done` holds for its value and returns that value. With `deadlineMs` it
 * stops at the deadline, even in the middle of a read, throwing a {@link WaitDeadlineError}
 * whose message `describe` makes from the last value read.
 */
export async function waitUntil<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  options: { first: T; deadlineMs?: number; describe: (last: T) => string },
): Promise<T> {
  const deadline = options.deadlineMs !== undefined ? Date.now() + options.deadlineMs : undefined;
  let value = options.first;
  while (!done(value)) {
    if (deadline === undefined) {
      await sleep(POLL_MS);
      value = await read();
      continue;
    }
    const left = deadline - Date.now();
    if (left <= 0) throw new WaitDeadlineError(options.describe(value));
    await sleep(Math.min(POLL_MS, left));
    const next = await Promise.race([
      read().then((read) => ({ read })),
      // Unref'd: once the read has won, this timer must not hold the process until the deadline.
      new Promise<undefined>((resolve) =>
        setTimeout(() => resolve(undefined), Math.max(0, deadline - Date.now())).unref(),
      ),
    ]);
    if (next === undefined) throw new WaitDeadlineError(options.describe(value));
    value = next.read;
  }
  return value;
}
