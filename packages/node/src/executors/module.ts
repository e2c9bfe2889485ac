import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { isValue, type Value } from '@meshwork/core';
import type { ModuleSettings } from '../config.ts';
import { parseInput } from './input.ts';
import { abortError, ExecutorError, type ExecutionContext } from './types.ts';

export const moduleInput = z.strictObject({
  executor: z.literal('module'),
  /** A handler name from the agent's config; tasks never name a file path. */
  handler: z.string().min(1),
  input: z.unknown().optional(),
});
export type ModuleInput = z.input<typeof moduleInput>;

/** What a handler module exports, as `default` or as `handler`. */
export type ModuleHandler = (input: Value, ctx: ExecutionContext) => Value | Promise<Value>;

function handlerOf(mod: Record<string, unknown>): ModuleHandler | undefined {
  for (const key of ['default', 'handler']) {
    if (typeof mod[key] === 'function') return mod[key] as ModuleHandler;
  }
  return undefined;
}

/** Loads the configured module (cached by Node after the first import) and calls its handler. */
export async function runModule(
  input: unknown,
  settings: ModuleSettings,
  ctx: ExecutionContext,
): Promise<Value> {
  const spec = parseInput(moduleInput, input);
  const path = settings.handlers[spec.handler];
  if (path === undefined) {
    throw new ExecutorError('not_allowed', `handler ${spec.handler} is not configured for this agent`, {
      handler: spec.handler,
    });
  }
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (err) {
    throw new ExecutorError(
      'load',
      `cannot load handler ${spec.handler} from ${path}: ${(err as Error).message}`,
    );
  }
  const handler = handlerOf(mod);
  if (!handler) {
    throw new ExecutorError('load', `${path} exports no handler function (default or "handler")`);
  }
  if (ctx.signal.aborted) throw abortError(ctx.signal);
  const taskInput = spec.input === undefined ? null : spec.input;
  if (!isValue(taskInput)) throw new ExecutorError('bad_input', 'module input is not plain data');
  const result = await handler(taskInput, ctx);
  if (result !== undefined && !isValue(result)) {
    throw new ExecutorError('output', `handler ${spec.handler} returned something that is not plain data`);
  }
  return result === undefined ? null : result;
}
