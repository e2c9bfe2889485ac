import type { IncomingMessage, ServerResponse } from 'node:http';
import { MeshworkError } from '@meshwork/core';
import type { z } from 'zod';

/** JSON the API returns. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * An error with its HTTP status; `field` names the offending request field, `retryAfterS` (sent
 * as `Retry-After`) tells a refused client when to try again.
 */
export class ApiError extends MeshworkError {
  override readonly name = 'ApiError';
  readonly status: number;
  readonly retryAfterS: number | undefined;
  constructor(
    status: number,
    code: string,
    message: string,
    field?: string,
    options: { retryAfterS?: number } = {},
  ) {
    super(code, message, { ...(field !== undefined && { field }) });
    this.status = status;
    this.retryAfterS = options.retryAfterS;
  }
}

/** Answers a request with a status and JSON body, or `'stream'` when it wrote the response itself. */
export type Handler = (ctx: RequestContext) => Promise<[number, Json] | 'stream'> | [number, Json] | 'stream';

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  /** The decoded `:name` segments of the route's path, in order. */
  params: string[];
  query: URLSearchParams;
  /** The JSON body checked against `schema`; a 400 naming the field when it does not fit. */
  body: <S extends z.ZodType>(schema: S) => Promise<z.output<S>>;
  /** Whether the request carries the API key (a route with `read` access may serve more with it). */
  authorized: boolean;
}

/** `open`: anyone who can reach the port; `read`: open on loopback, else keyed; `write`: keyed. */
export type Access = 'open' | 'read' | 'write';

/** What `/openapi.json` says of a route, from the same zod schemas its handler validates with. */
export interface RouteDoc {
  readonly summary: string;
  readonly description?: string;
  readonly query?: z.ZodType;
  readonly body?: z.ZodType;
  /** The success answer's body; any JSON when absent. */
  readonly response?: z.ZodType;
  /** Default 200. */
  readonly status?: number;
  /** The success answer's media type when it is not JSON (an event stream, Prometheus text). */
  readonly mediaType?: string;
  /** Error statuses besides those every route of its kind can answer (400, 401, 404, 413, 415). */
  readonly errors?: readonly number[];
}

/** A route: `path` like `/v1/things/:id/part`, each `:name` one decoded path segment in `params`. */
export interface RouteDefinition {
  readonly method: string;
  readonly path: string;
  /** Default: `read` for GET, `write` otherwise. */
  readonly access?: Access;
  readonly handler: Handler;
  readonly doc?: RouteDoc;
}

/** The access a route has when its definition names none. */
export function accessOf(route: RouteDefinition): Access {
  return route.access ?? (route.method === 'GET' ? 'read' : 'write');
}

/** The `:name` parameters of a route path, in order. */
export function pathParams(path: string): string[] {
  return [...path.matchAll(/:([A-Za-z]+)/g)].map((m) => m[1]!);
}
