import { z } from 'zod';

/*
 * Request schemas of shared memory. Values are taken as any JSON here and held to the shared
 * state's limits by the shared memory itself, which the MCP server calls without HTTP too.
 */

/** Most values, points or elements one operation carries. */
export const MAX_OPERATION_ITEMS = 10_000;

/** Any value but a missing one, not walked here; as JSON Schema (MCP tools list it) `{}`, required. */
const value = z.unknown().nonoptional('expected a JSON value');
const values = z.array(value).min(1).max(MAX_OPERATION_ITEMS);
const amount = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).default(1);
const index = z.number().int().min(0);
const attrs = z.record(z.string().min(1), value);
const label = z.string().min(1).nullable().optional();

function op<T extends string, O extends string, S extends z.ZodRawShape>(type: T, name: O, shape: S) {
  return z.strictObject({ type: z.literal(type), op: z.literal(name), ...shape });
}

const registerSet = <T extends 'lww' | 'mvregister'>(type: T) => op(type, 'set', { value });

/** One write to a member: `type` declares the member's type (it is created with it), `op` the change. */
export const memoryOperation = z.discriminatedUnion('type', [
  registerSet('lww'),
  registerSet('mvregister'),
  z.discriminatedUnion('op', [op('orset', 'add', { values }), op('orset', 'remove', { values })]),
  z.discriminatedUnion('op', [
    op('pncounter', 'increment', { by: amount }),
    op('pncounter', 'decrement', { by: amount }),
  ]),
  z.discriminatedUnion('op', [
    op('boundedcounter', 'increment', { by: amount }),
    op('boundedcounter', 'decrement', { by: amount }),
    op('boundedcounter', 'transfer', { to: z.string().min(1), by: amount }),
  ]),
  z.discriminatedUnion('op', [
    op('graph', 'addVertex', { id: z.string().min(1), attrs: attrs.optional() }),
    op('graph', 'removeVertex', { id: z.string().min(1) }),
    op('graph', 'addEdge', {
      from: z.string().min(1),
      to: z.string().min(1),
      label,
      attrs: attrs.optional(),
    }),
    op('graph', 'removeEdge', { from: z.string().min(1), to: z.string().min(1), label }),
  ]),
  z.discriminatedUnion('op', [
    op('timeseries', 'append', {
      points: z
        .array(
          z.strictObject({
            series: z.string().min(1),
            value: z.number(),
            /** Wall time (epoch ms) of the point; default now. */
            at: index.max(Number.MAX_SAFE_INTEGER).optional(),
          }),
        )
        .min(1)
        .max(MAX_OPERATION_ITEMS),
    }),
    op('timeseries', 'retain', { before: index.max(Number.MAX_SAFE_INTEGER) }),
  ]),
  z.discriminatedUnion('op', [
    op('text', 'insert', { index, text: z.string().min(1) }),
    op('text', 'delete', { index, length: z.number().int().min(1) }),
  ]),
]);
export type MemoryOperation = z.output<typeof memoryOperation>;

/** `PUT /v1/memory/:doc/:member`: sets a register, the same as the operation `set`. */
export const registerBody = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('lww'), value }),
  z.strictObject({ type: z.literal('mvregister'), value }),
]);
export type RegisterBody = z.output<typeof registerBody>;

/** `PUT /v1/memory/:doc`: creates the document; it takes no fields. */
export const createDocumentBody = z.strictObject({});

const limit = z.coerce.number().int().min(1).max(1_000).optional();
const cursor = z.string().min(1).optional();

/** A page of a list: at most `limit` items after `cursor` (the `next` of the page before). */
export const memoryPageQuery = z.strictObject({ limit, cursor });
export type MemoryPageQuery = z.output<typeof memoryPageQuery>;

const wallTime = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional();

/**
 * Reading a member: `limit`/`cursor` page a set's values or a series' points; `vertex` gives a
 * graph vertex with its neighbours; `series` with `from`/`to` (and `bucketMs` for a rollup)
 * queries a time series.
 */
export const memberReadQuery = z.strictObject({
  limit,
  cursor,
  vertex: z.string().min(1).optional(),
  series: z.string().min(1).optional(),
  from: wallTime,
  to: wallTime,
  bucketMs: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
});
export type MemberReadQuery = z.output<typeof memberReadQuery>;
