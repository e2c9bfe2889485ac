import { ResourceTemplate, type McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  McpError,
  type ListResourcesResult,
  type ReadResourceResult,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { Json, NodeApi } from '../http-server.ts';
import { agentView, taskPageView, workflowPageView } from './views.ts';

/** The JSON-RPC error for a resource that does not exist (the MCP spec's code). */
const RESOURCE_NOT_FOUND = -32002;
/** Tasks a resource listing shows: the newest. */
const LISTED_TASKS = 100;
const JSON_TYPE = 'application/json';

function contents(uri: URL, value: Json | undefined, what: string): ReadResourceResult {
  if (value === undefined) throw new McpError(RESOURCE_NOT_FOUND, `no ${what}`, { uri: uri.href });
  return { contents: [{ uri: uri.href, mimeType: JSON_TYPE, text: JSON.stringify(value) }] };
}

function listing<T extends { id: string }>(
  kind: string,
  items: T[],
  title: (item: T) => string,
): ListResourcesResult {
  return {
    resources: items.map((item) => ({
      uri: `meshwork://${kind}/${item.id}`,
      name: item.id,
      title: title(item),
      mimeType: JSON_TYPE,
    })),
  };
}

const variable = (v: string | string[] | undefined): string => (Array.isArray(v) ? (v[0] ?? '') : (v ?? ''));

/**
 * Tasks, workflow runs and agents as JSON resources `meshwork://<kind>/<id>`, read as get_task,
 * get_workflow and list_agents answer them. A task's URI is also the id of the MCP task that
 * follows it.
 */
export function registerResources(server: McpServer, api: NodeApi): void {
  server.registerResource(
    'task',
    new ResourceTemplate('meshwork://tasks/{id}', {
      list: () =>
        listing(
          'tasks',
          taskPageView.parse(api.listTasks({ limit: LISTED_TASKS })).items,
          (t) => `${t.type ?? 'task'} (${t.status ?? 'removed'})`,
        ),
    }),
    { title: 'Task', description: 'A task of the mesh; the list shows the newest 100.', mimeType: JSON_TYPE },
    (uri, { id }) => contents(uri, api.getTask(variable(id)), `task ${variable(id)}`),
  );

  server.registerResource(
    'workflow',
    new ResourceTemplate('meshwork://workflows/{id}', {
      list: () =>
        listing(
          'workflows',
          workflowPageView.parse(api.listWorkflows({ limit: LISTED_TASKS })).items,
          (w) => `${w.name} (${w.status})`,
        ),
    }),
    { title: 'Workflow run', description: 'A workflow run of the mesh.', mimeType: JSON_TYPE },
    (uri, { id }) => contents(uri, api.getWorkflow(variable(id)), `workflow run ${variable(id)}`),
  );

  const agents = (): z.output<typeof agentView>[] => z.array(agentView).parse(api.agents());
  server.registerResource(
    'agent',
    new ResourceTemplate('meshwork://agents/{id}', {
      list: () => listing('agents', agents(), (a) => `agent (${a.live ? 'live' : 'gone'})`),
    }),
    { title: 'Agent', description: 'An agent of the mesh, on any node.', mimeType: JSON_TYPE },
    (uri, { id }) => {
      const agent = agents().find((a) => a.id === variable(id));
      return contents(uri, agent as Json | undefined, `agent ${variable(id)}`);
    },
  );
}
