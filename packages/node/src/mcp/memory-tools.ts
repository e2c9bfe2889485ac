import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { MEMBER_TYPES } from '../memory/member-types.ts';
import { memberReadQuery, memoryOperation, memoryPageQuery } from '../memory/memory-schema.ts';
import { MAX_DOCUMENT_NAME, MAX_MEMBER_NAME, NAME_RULE } from '../memory/names.ts';
import type { SharedMemory } from '../memory/shared-memory.ts';
import { defineTool, type ToolGate } from './tool-definition.ts';
import { memberView } from './views.ts';

// The names are checked by shared memory, which names the field it refuses.
const document = z.string().describe(`document name: 1-${MAX_DOCUMENT_NAME} ${NAME_RULE}`);
const member = z.string().describe(`member name: 1-${MAX_MEMBER_NAME} ${NAME_RULE}`);
const read = {
  readOnlyHint: true,
  destructiveHint: false,
  idempotentHint: true,
  openWorldHint: false,
} as const;

/** Shared memory (README "Shared memory"): named Documents of CRDT members, the same on every node. */
export function registerMemoryTools(server: McpServer, gate: ToolGate, memory: SharedMemory): void {
  defineTool(
    server,
    gate,
    'memory_list',
    {
      title: 'List shared memory',
      description:
        'Without `document`: the shared-memory documents, by name. With it: that document’s members and their types. ' +
        'Paged: pass `next` back as `cursor`.',
      input: memoryPageQuery.extend({ document: document.optional() }),
      output: z.strictObject({
        documents: z.array(z.strictObject({ name: z.string(), members: z.number() })).optional(),
        document: z.string().optional(),
        members: z
          .array(
            z.strictObject({
              name: z.string(),
              type: z.enum(MEMBER_TYPES),
              conflicts: z.array(z.enum(MEMBER_TYPES)),
            }),
          )
          .optional(),
        next: z.string().nullable(),
      }),
      hints: read,
    },
    ({ document, ...page }) =>
      document === undefined ? memory.documents(page) : memory.members(document, page),
  );

  defineTool(
    server,
    gate,
    'memory_get',
    {
      title: 'Read a shared-memory member',
      description:
        'A member’s merged value and what it is: `type`, who created it, conflicts; the value’s fields depend on the ' +
        'type (lww: value; orset: values; pncounter: value; graph: vertices, edges; timeseries: series; text: text …).',
      input: z.strictObject({ document, member }),
      output: memberView,
      hints: read,
    },
    ({ document, member }) => memory.read(document, member),
  );

  defineTool(
    server,
    gate,
    'memory_query',
    {
      title: 'Query a shared-memory member',
      description:
        'Part of a member: a graph vertex with its neighbours (`vertex`: its `out` and `in` edges), a time series’ ' +
        'points in a range (`series`, `from` ≤ time < `to`, paged) or rolled up (`bucketMs`), or a page of a set’s ' +
        'values (`limit`, `cursor`).',
      input: memberReadQuery.extend({ document, member }),
      output: memberView,
      hints: read,
    },
    ({ document, member, ...query }) => memory.read(document, member, query),
  );

  defineTool(
    server,
    gate,
    'memory_put',
    {
      title: 'Write shared memory',
      description:
        'Applies one operation to a member, creating the document and the member (with the operation’s `type`) when ' +
        'absent: lww/mvregister set; orset add/remove; pncounter, boundedcounter increment/decrement (and transfer); ' +
        'graph addVertex/removeVertex/addEdge/removeEdge; timeseries append/retain; text insert/delete. Applied whole ' +
        'or not at all, durable when answered, merged on every node. Answers the member’s new view.',
      input: z.strictObject({ document, member, operation: memoryOperation }),
      output: memberView,
      // An lww set replaces a value, a remove or delete drops one.
      hints: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
    },
    ({ document, member, operation }) => memory.write(document, member, operation),
  );
}
