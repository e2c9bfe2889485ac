import { isValue, type Value } from '@meshwork/core';
import { compileExpression } from 'filtrex';
import { CoordinatorError } from '../errors.ts';

export type Scope = { readonly [name: string]: Value | undefined };
export type Expression = (scope: Scope) => Value;

/**
 * Dotted names (`steps.fetch.result.count`) read own properties only, so an expression
 * can reach nothing but the data it is given (`constructor`, `__proto__` read as null).
 */
function ownPath(name: string, _get: (name: string) => unknown, scope: unknown): unknown {
  let v: unknown = scope;
  for (const part of name.split('.')) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, part)) return null;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

const cache = new Map<string, Expression>();

/**
 * Compiles a filtrex expression (no `eval`: filtrex parses to a closed grammar of
 * arithmetic, comparison, boolean logic and a few functions). Throws a CoordinatorError
 * naming `field` on bad syntax; the compiled function throws one when the result is not data.
 */
export function compile(source: string, field: string): Expression {
  const hit = cache.get(source);
  if (hit !== undefined) return hit;
  if (typeof source !== 'string' || source.length > 4096) {
    throw new CoordinatorError(
      'expression',
      'must be an expression string of at most 4096 characters',
      field,
    );
  }
  let fn: (scope: unknown) => unknown;
  try {
    fn = compileExpression(source, { customProp: ownPath }) as (scope: unknown) => unknown;
  } catch (e) {
    throw new CoordinatorError(
      'expression',
      `cannot parse "${source}": ${(e as Error).message.split('\n')[0]}`,
      field,
    );
  }
  const expr: Expression = (scope) => {
    const v = fn(scope);
    if (v instanceof Error)
      throw new CoordinatorError('expression', `"${source}" failed: ${v.message}`, field);
    if (v === undefined) return null;
    if (!isValue(v) || (typeof v === 'number' && !Number.isFinite(v))) {
      throw new CoordinatorError('expression', `"${source}" did not produce plain data`, field);
    }
    return v;
  };
  if (cache.size > 1000) cache.clear();
  cache.set(source, expr);
  return expr;
}

/** filtrex truthiness: booleans as is, 0/""/null/[] false. */
export function truthy(v: Value): boolean {
  if (Array.isArray(v)) return v.length > 0;
  return Boolean(v);
}
