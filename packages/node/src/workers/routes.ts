import { z } from 'zod';
import {
  ApiError,
  type Json,
  type RequestContext,
  type RouteDefinition,
  type RouteDoc,
} from '../http-server.ts';
import { toJson } from '../json.ts';
import { assignmentView, heartbeatView, reportView, workerSessionView } from '../mcp/views.ts';
import { WorkerError, workerErrorStatus, type WorkerErrorCode } from './errors.ts';
import type { ReportAnswer, WorkerService } from './protocol.ts';
import {
  completeBody,
  failBody,
  heartbeatBody,
  pollBody,
  progressBody,
  registerWorkerBody,
} from './schema.ts';

/** Sent as `Retry-After` with the refusals a client may simply retry later. */
const RETRY_AFTER_S: Partial<Record<WorkerErrorCode, number>> = {
  too_many_workers: 5,
  too_many_polls: 1,
  stopping: 5,
};

function apiError(err: WorkerError): ApiError {
  const retryAfterS = RETRY_AFTER_S[err.code];
  return new ApiError(
    workerErrorStatus[err.code],
    err.code,
    err.message,
    err.field,
    retryAfterS !== undefined ? { retryAfterS } : {},
  );
}

/** The statuses a worker call can be refused with, besides those of every route. */
const WORKER_ERRORS = [...new Set(Object.values(workerErrorStatus))];

/** A route whose WorkerErrors answer as the typed HTTP errors of the API. */
function workerRoute(
  method: string,
  path: string,
  doc: RouteDoc,
  handler: (ctx: RequestContext) => Promise<[number, Json]> | [number, Json],
): RouteDefinition {
  return {
    method,
    path,
    doc: { ...doc, errors: WORKER_ERRORS },
    handler: async (ctx) => {
      try {
        return await handler(ctx);
      } catch (err) {
        throw err instanceof WorkerError ? apiError(err) : err;
      }
    },
  };
}

/** `POST /v1/workers/:id/tasks/:task/<verb>`: a report about one attempt. */
function reportRoute<S extends z.ZodType>(
  workers: WorkerService,
  verb: string,
  schema: S,
  report: (workerId: string, taskId: string, body: z.output<S>) => ReportAnswer,
): RouteDefinition {
  const doc = {
    summary: `Report ${verb} of an attempt the worker holds`,
    body: schema,
    response: reportView,
  };
  return workerRoute('POST', `/v1/workers/:id/tasks/:task/${verb}`, doc, async ({ params, body }) => {
    const [workerId, taskId] = params as [string, string];
    workers.seen(workerId);
    const parsed = await body(schema);
    return [200, toJson(report(workerId, taskId, parsed))];
  });
}

/**
 * The pull protocol over HTTP (see the README's "Pull workers"). Each call from a worker
 * renews its lease as it arrives, before its body waits for its write turn: a burst of writes
 * queued ahead of a heartbeat does not make the worker look silent.
 */
export function workerRoutes(workers: WorkerService): RouteDefinition[] {
  return [
    workerRoute(
      'POST',
      '/v1/workers',
      {
        summary: 'Register a pull worker',
        body: registerWorkerBody,
        response: workerSessionView,
        status: 201,
      },
      async ({ body }) => [201, toJson(workers.register(await body(registerWorkerBody)))],
    ),
    workerRoute('GET', '/v1/workers', { summary: "This node's pull workers" }, () => [
      200,
      toJson(workers.list()),
    ]),
    workerRoute(
      'DELETE',
      '/v1/workers/:id',
      { summary: 'Unregister a worker; its tasks go back' },
      ({ params }) => [200, toJson(workers.unregister(params[0]!))],
    ),
    workerRoute(
      'POST',
      '/v1/workers/:id/heartbeat',
      { summary: "Renew the worker's lease", body: heartbeatBody, response: heartbeatView },
      async ({ params, body }) => {
        const workerId = params[0]!;
        workers.seen(workerId);
        await body(heartbeatBody);
        return [200, toJson(workers.heartbeat(workerId))];
      },
    ),
    workerRoute(
      'POST',
      '/v1/workers/:id/poll',
      {
        summary: 'Take tasks, waiting up to waitMs for one',
        body: pollBody,
        response: z.strictObject({ tasks: z.array(assignmentView) }),
      },
      async ({ params, body, req, res }) => {
        const workerId = params[0]!;
        workers.seen(workerId);
        const { waitMs, max } = await body(pollBody);
        // A client that hangs up stops waiting; tasks taken for an answer that cannot be sent are put back.
        const hungUp = new AbortController();
        const onClose = (): void => hungUp.abort();
        res.once('close', onClose);
        if (req.socket.destroyed) hungUp.abort();
        const tasks = await workers.next(workerId, { waitMs, max }, hungUp.signal);
        res.off('close', onClose);
        if (tasks.length > 0) {
          if (req.socket.destroyed) {
            workers.undelivered(workerId, tasks);
            return [200, { tasks: [] }];
          }
          res.once('close', () => {
            if (!res.writableFinished) workers.undelivered(workerId, tasks);
          });
        }
        return [200, { tasks: toJson(tasks) }];
      },
    ),
    reportRoute(workers, 'progress', progressBody, (w, t, b) => workers.progress(w, t, b.epoch, b.data)),
    reportRoute(workers, 'complete', completeBody, (w, t, b) => workers.complete(w, t, b.epoch, b.result)),
    reportRoute(workers, 'fail', failBody, (w, t, b) => workers.fail(w, t, b.epoch, b)),
  ];
}
