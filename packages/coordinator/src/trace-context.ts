import {
  createTraceState,
  isSpanContextValid,
  ROOT_CONTEXT,
  trace,
  type Context,
  type SpanContext,
} from '@opentelemetry/api';

/**
 * The W3C trace context (https://www.w3.org/TR/trace-context/) of the span that submitted a task,
 * carried in the task record so that spans recorded on any node join the submitter's trace.
 */
export interface TraceContext {
  /** `00-<trace id>-<parent span id>-<flags>`. */
  readonly traceparent: string;
  readonly tracestate?: string;
}

/** Version 00 only, the version this code writes: ids in lowercase hex, flags one byte. */
const traceparentPattern = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The W3C limit on a tracestate header (32 members of at most 256 characters are trimmed to it). */
export const MAX_TRACESTATE_CHARS = 512;

/** The context to store for a span, or undefined when the span has none (tracing is off). */
export function traceContextOf(span: SpanContext): TraceContext | undefined {
  if (!isSpanContextValid(span)) return undefined;
  const traceparent = `00-${span.traceId}-${span.spanId}-${(span.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
  const tracestate = span.traceState?.serialize();
  return tracestate === undefined || tracestate === '' || tracestate.length > MAX_TRACESTATE_CHARS
    ? { traceparent }
    : { traceparent, tracestate };
}

/**
 * A trace context read from shared state, or undefined when absent or malformed: another replica
 * may run other code or be faulty, and a task stays valid without its trace.
 */
export function readTraceContext(v: unknown): TraceContext | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const { traceparent, tracestate } = v as { traceparent?: unknown; tracestate?: unknown };
  if (typeof traceparent !== 'string' || remoteSpan(traceparent) === undefined) return undefined;
  if (typeof tracestate === 'string' && tracestate.length > 0 && tracestate.length <= MAX_TRACESTATE_CHARS)
    return { traceparent, tracestate };
  return { traceparent };
}

function remoteSpan(traceparent: string, tracestate?: string): SpanContext | undefined {
  const m = traceparentPattern.exec(traceparent);
  if (m === null) return undefined;
  const span: SpanContext = {
    traceId: m[1]!,
    spanId: m[2]!,
    traceFlags: parseInt(m[3]!, 16),
    isRemote: true,
    ...(tracestate !== undefined && { traceState: createTraceState(tracestate) }),
  };
  // All-zero ids are invalid by the spec.
  return isSpanContextValid(span) ? span : undefined;
}

/** The context whose span is the stored one: the parent of the spans recorded for the task. */
export function contextOf(t: TraceContext): Context | undefined {
  const span = remoteSpan(t.traceparent, t.tracestate);
  return span === undefined ? undefined : trace.setSpanContext(ROOT_CONTEXT, span);
}
