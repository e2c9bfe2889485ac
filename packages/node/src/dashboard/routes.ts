import { ApiError, type Json, type RequestContext, type RouteDefinition } from '../http-server.ts';
import { parseQuery } from '../http/validation.ts';
import { DashboardUnavailableError, type DashboardAssets } from './assets.ts';
import { activityQuery, type ActivityQuery } from './schema.ts';

export interface DashboardRouteDeps {
  readonly assets: DashboardAssets;
  readonly mesh: () => Json;
  readonly activity: (query: ActivityQuery) => Json;
}

/** What the page may load: its own files and this origin's API, nothing from elsewhere. */
const CONTENT_SECURITY_POLICY =
  "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; " +
  "frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

async function serveFile(
  assets: DashboardAssets,
  name: string,
  { req, res }: RequestContext,
): Promise<'stream'> {
  let asset;
  try {
    asset = await assets.get(name);
  } catch (err) {
    if (err instanceof DashboardUnavailableError)
      throw new ApiError(503, 'dashboard_unavailable', err.message);
    throw err;
  }
  if (asset === undefined) {
    // Answered here rather than thrown: the server cuts the connection after an error answer to
    // a request whose (empty) body it has not seen end, which can lose the answer on the way out.
    const body = JSON.stringify({ error: { code: 'not_found', message: `no dashboard file ${name}` } });
    res.writeHead(404, { 'content-type': 'application/json' }).end(body);
    return 'stream';
  }
  const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  const body = gzip ? asset.gzipped : asset.body;
  res
    .writeHead(200, {
      'content-type': asset.contentType,
      'content-length': body.byteLength,
      ...(gzip ? { 'content-encoding': 'gzip' } : {}),
      vary: 'accept-encoding',
      'cache-control': asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      'content-security-policy': CONTENT_SECURITY_POLICY,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    })
    .end(body);
  return 'stream';
}

/**
 * The dashboard at `/ui` and the reads it needs beyond the API's own: `GET /v1/mesh` (nodes and
 * links) and `GET /v1/activity` (task activity series). The page and its files are open (they
 * hold no data); what it reads and does goes through the API with its usual access.
 */
export function dashboardRoutes(deps: DashboardRouteDeps): RouteDefinition[] {
  const index = (ctx: RequestContext): Promise<'stream'> => serveFile(deps.assets, 'index.html', ctx);
  const page = { summary: 'The web dashboard', mediaType: 'text/html' };
  return [
    { method: 'GET', path: '/ui', access: 'open', handler: index, doc: page },
    { method: 'GET', path: '/ui/', access: 'open', handler: index, doc: page },
    {
      method: 'GET',
      path: '/ui/:file',
      access: 'open',
      handler: (ctx) => serveFile(deps.assets, ctx.params[0]!, ctx),
      doc: {
        summary: "One of the dashboard's files (script, style sheet)",
        mediaType: 'application/octet-stream',
      },
    },
    {
      method: 'GET',
      path: '/v1/mesh',
      handler: () => [200, deps.mesh()],
      doc: {
        summary: "The whole mesh as this node's membership knows it: nodes and links, with round trips",
      },
    },
    {
      method: 'GET',
      path: '/v1/activity',
      handler: ({ query }) => [200, deps.activity(parseQuery(activityQuery, query))],
      doc: {
        summary: 'Task activity series: throughput, submit→start latency, failovers, duplicate starts',
        query: activityQuery,
      },
    },
  ];
}
