import { reloadBody } from '../api-schema.ts';
import { ConfigError } from '../config-error.ts';
import { ApiError, type RouteDefinition } from '../http-server.ts';
import { toJson } from '../json.ts';
import { ReloadRefusedError, type Reloader } from './reloader.ts';

/**
 * `POST /v1/admin/reload` (API key): the daemon reads its config file again and applies it as
 * on SIGHUP. `200` with the report; `422 invalid_config` with the config's field-naming issues,
 * nothing changed; `503 draining` while it stops.
 */
export function reloadRoutes(reloader: Reloader): RouteDefinition[] {
  return [
    {
      method: 'POST',
      path: '/v1/admin/reload',
      doc: {
        summary: 'Read the config file again and apply it, as on SIGHUP',
        body: reloadBody,
        errors: [422, 503],
      },
      handler: async ({ body }) => {
        await body(reloadBody);
        try {
          return [200, toJson(reloader.reload())];
        } catch (err) {
          if (err instanceof ConfigError) throw new ApiError(422, 'invalid_config', err.message);
          if (err instanceof ReloadRefusedError) throw new ApiError(503, 'draining', err.message);
          throw err;
        }
      },
    },
  ];
}
