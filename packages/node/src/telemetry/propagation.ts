import { context, defaultTextMapSetter } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';

const propagator = new W3CTraceContextPropagator();

/**
 * The active span's W3C context as `traceparent` and `tracestate` headers, for a call an
 * executor makes on the attempt's behalf; empty when no span is active (tracing off).
 */
export function traceHeaders(): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagator.inject(context.active(), carrier, defaultTextMapSetter);
  return carrier;
}

/**
 * The same context as the environment variables `TRACEPARENT` and `TRACESTATE` (OpenTelemetry's
 * convention for passing a context to a child process), for the shell executor's commands.
 */
export function traceEnv(): Record<string, string> {
  return Object.fromEntries(Object.entries(traceHeaders()).map(([k, v]) => [k.toUpperCase(), v]));
}
