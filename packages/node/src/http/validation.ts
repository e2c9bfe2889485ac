import type { z } from 'zod';
import { ApiError } from './route.ts';

/** A 400 naming the first offending field of a request part (`prefix`: `query ` or nothing for the body). */
export function validationError(error: z.ZodError, prefix: string): ApiError {
  const issue = error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const field = [...issue.path, issue.keys[0]].join('.');
    return new ApiError(400, 'invalid_request', `${prefix}${field}: unknown field`, field);
  }
  const field = issue.path.join('.');
  return new ApiError(
    400,
    'invalid_request',
    `${prefix}${field || '(body)'}: ${issue.message}`,
    field || undefined,
  );
}

/** The query checked against `schema`; a 400 naming the parameter when it does not fit. */
export function parseQuery<S extends z.ZodType>(schema: S, query: URLSearchParams): z.output<S> {
  const parsed = schema.safeParse(Object.fromEntries(query));
  if (!parsed.success) throw validationError(parsed.error, 'query ');
  return parsed.data;
}
