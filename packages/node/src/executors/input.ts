import type { z } from 'zod';
import { ExecutorInputError } from './types.ts';

/** Validates a task input against an executor's schema; the error names the offending field. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues.map(
    (i) => `${i.path.length > 0 ? i.path.join('.') : 'input'}: ${i.message}`,
  );
  throw new ExecutorInputError(`invalid task input: ${issues.join('; ')}`);
}
