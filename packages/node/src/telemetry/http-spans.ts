import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  context,
  defaultTextMapGetter,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type TracerProvider,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_URL_PATH,
} from '@opentelemetry/semantic-conventions';

/** Runs a request's handling; the daemon's HTTP server calls it around every request. */
export type AroundRequest = (
  req: IncomingMessage,
  res: ServerResponse,
  handle: () => Promise<void>,
) => Promise<void>;

/** Probes and scrapes come every few seconds and cause nothing: not worth a trace each. */
const untraced = new Set(['/healthz', '/readyz', '/metrics']);

const propagator = new W3CTraceContextPropagator();

/**
 * A SERVER span per request, child of the caller's span when the request carries a W3C
 * `traceparent` header, and active while the request is handled: a task submitted by the request
 * joins its trace.
 */
export function traceRequests(provider: TracerProvider): AroundRequest {
  const tracer = provider.getTracer('@meshwork/node');
  return (req, res, handle) => {
    const path = (req.url ?? '/').split('?', 1)[0]!;
    if (untraced.has(path)) return handle();
    const parent = propagator.extract(ROOT_CONTEXT, req.headers, defaultTextMapGetter);
    const method = req.method ?? 'GET';
    const span = tracer.startSpan(
      method,
      { kind: SpanKind.SERVER, attributes: { [ATTR_HTTP_REQUEST_METHOD]: method, [ATTR_URL_PATH]: path } },
      parent,
    );
    res.once('close', () => {
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
    return context.with(trace.setSpan(parent, span), handle);
  };
}

/** Names the active request span after the route it matched (`POST /v1/tasks`); no-op untraced. */
export function nameRequestSpan(method: string, route: string): void {
  const span = trace.getActiveSpan();
  if (span === undefined) return;
  span.updateName(`${method} ${route}`);
  span.setAttribute(ATTR_HTTP_ROUTE, route);
}
