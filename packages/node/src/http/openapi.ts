import { z } from 'zod';
import { apiErrorBody } from '../api-schema.ts';
import { accessOf, pathParams, type Json, type RouteDefinition } from './route.ts';

const STATUS_TEXT: { readonly [status: number]: string } = {
  400: 'Invalid request: `field` names the offending part',
  401: 'Missing or wrong API key',
  403: 'Forbidden',
  404: 'No such route or resource',
  409: 'Conflicts with the current state',
  413: 'Request body too large',
  415: 'Request body is not JSON',
  422: 'Unprocessable',
  429: 'Too many: retry after `Retry-After` seconds',
  503: 'Stopping or not ready',
};

const ERROR_REF = { $ref: '#/components/schemas/Error' };

/** A zod schema as a JSON Schema (2020-12, which OpenAPI 3.1 uses), as a client sends or reads it. */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): { [key: string]: Json } {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as {
    [key: string]: Json;
  };
  return rest;
}

function queryParameters(schema: z.ZodType): Json[] {
  const object = jsonSchema(schema, 'input') as {
    properties?: { [name: string]: Json };
    required?: string[];
  };
  return Object.entries(object.properties ?? {}).map(([name, property]) => ({
    name,
    in: 'query',
    required: object.required?.includes(name) ?? false,
    schema: property,
  }));
}

/** The statuses a route can refuse with, from what it takes and who may call it. */
function errorStatuses(route: RouteDefinition): number[] {
  const doc = route.doc;
  const statuses = new Set<number>(doc?.errors ?? []);
  if (accessOf(route) !== 'open') statuses.add(401);
  if (doc?.query !== undefined || doc?.body !== undefined) statuses.add(400);
  if (pathParams(route.path).length > 0) statuses.add(404);
  if (route.method !== 'GET') {
    statuses.add(400).add(413).add(415);
  }
  return [...statuses].sort((a, b) => a - b);
}

function operation(route: RouteDefinition): { [key: string]: Json } {
  const doc = route.doc;
  const access = accessOf(route);
  const status = doc?.status ?? 200;
  const responses: { [status: string]: Json } = {
    [status]: {
      description: doc?.summary ?? 'Success',
      content: {
        [doc?.mediaType ?? 'application/json']: {
          schema: doc?.response !== undefined ? jsonSchema(doc.response, 'output') : {},
        },
      },
    },
  };
  for (const s of errorStatuses(route))
    responses[s] ??= {
      description: STATUS_TEXT[s] ?? 'Error',
      content: { 'application/json': { schema: ERROR_REF } },
    };
  responses['default'] = { description: 'Error', content: { 'application/json': { schema: ERROR_REF } } };
  const parameters: Json[] = [
    ...pathParams(route.path).map((name) => ({
      name,
      in: 'path',
      required: true,
      schema: { type: 'string' },
    })),
    ...(doc?.query !== undefined ? queryParameters(doc.query) : []),
  ];
  return {
    operationId: `${route.method.toLowerCase()}${route.path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
    summary: doc?.summary ?? `${route.method} ${route.path}`,
    ...(doc?.description !== undefined ? { description: doc.description } : {}),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(doc?.body !== undefined
      ? {
          requestBody: {
            required: true,
            content: { 'application/json': { schema: jsonSchema(doc.body, 'input') } },
          },
        }
      : {}),
    responses,
    // Reads are open on loopback and keyed elsewhere: the key is optional for them here.
    security: access === 'open' ? [] : access === 'read' ? [{}, { bearer: [] }] : [{ bearer: [] }],
  };
}

/** The OpenAPI 3.1 document of `routes`, generated from the zod schemas they validate with. */
export function openApiDocument(
  routes: readonly RouteDefinition[],
  info: { title: string; version: string },
): Json {
  const paths: { [path: string]: { [method: string]: Json } } = {};
  for (const route of routes) {
    const path = route.path.replace(/:([A-Za-z]+)/g, '{$1}');
    (paths[path] ??= {})[route.method.toLowerCase()] = operation(route);
  }
  return {
    openapi: '3.1.0',
    info: {
      ...info,
      description:
        'Every error answers `{ "error": { "code", "message", "field"? } }`. Writes need `Authorization: Bearer <key>`; ' +
        'reads need it too unless the API listens on loopback.',
    },
    paths,
    components: {
      schemas: { Error: jsonSchema(apiErrorBody, 'output') },
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    },
  };
}
