/** The OpenTelemetry SDK side of a node's tracing, loaded only when the node traces. */
import { context } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type SpanExporter,
} from '@opentelemetry/sdk-trace';
import {
  ATTR_SERVICE_INSTANCE_ID,
  ATTR_SERVICE_NAME,
  ATTR_SERVICE_VERSION,
} from '@opentelemetry/semantic-conventions';
import type { TelemetryConfig } from '../config.ts';
import type { Logger } from '../logger.ts';
import { VERSION } from '../version.ts';

export interface NodeTracingOptions {
  /** The node's name (config `name`), on every span's resource as `meshwork.node`. */
  readonly node: string;
  /** Its replica id (peer id): `meshwork.replica` and `service.instance.id`. */
  readonly replica: string;
  /** Where spans go besides the configured OTLP endpoint (an embedder's or a test's exporter). */
  readonly exporter?: SpanExporter;
  /** Told when exports start failing and when they work again. */
  readonly logger: Pick<Logger, 'warn' | 'info'>;
}

/** Longest wait for the collector to take one export, at shutdown too. */
const EXPORT_TIMEOUT_MS = 10_000;

/**
 * The exporter, telling the log when exports start failing and when they recover: once per
 * change, not per batch, so a collector that is down does not flood the log.
 */
function reporting(exporter: SpanExporter, logger: NodeTracingOptions['logger']): SpanExporter {
  let failing = false;
  return {
    export(spans, done) {
      exporter.export(spans, (result) => {
        const failed = result.code !== ExportResultCode.SUCCESS;
        if (failed && !failing) logger.warn({ err: result.error, spans: spans.length }, 'spans not exported');
        else if (!failed && failing) logger.info('spans exported again');
        failing = failed;
        done(result);
      });
    },
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
  };
}

let contextManagerSet = false;

/**
 * Spans cross `await`s within a process only through a context manager: registered once per
 * process, the first time a node turns tracing on, and shared by every node in it.
 */
function useAsyncContext(): void {
  if (contextManagerSet) return;
  contextManagerSet = true;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
}

/**
 * A tracer provider exporting to the configured OTLP endpoint and to `options.exporter`. Spans are
 * batched (sent every 5 s, and at shutdown); the sampler follows the parent's decision, so a task's
 * spans on other nodes are kept exactly when its submit span was, and roots are kept at `sampleRatio`.
 */
export function createTracerProvider(
  config: TelemetryConfig | undefined,
  options: NodeTracingOptions,
): TracerProvider {
  const exporters: SpanExporter[] = [];
  if (config?.otlp !== undefined) {
    const { url, headers } = config.otlp;
    exporters.push(new OTLPTraceExporter({ url, headers, timeoutMillis: EXPORT_TIMEOUT_MS }));
  }
  if (options.exporter !== undefined) exporters.push(options.exporter);
  useAsyncContext();
  return new TracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: config?.serviceName ?? 'meshwork',
      [ATTR_SERVICE_VERSION]: VERSION,
      [ATTR_SERVICE_INSTANCE_ID]: options.replica,
      'meshwork.node': options.node,
      'meshwork.replica': options.replica,
    }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config?.sampleRatio ?? 1) }),
    spanProcessors: exporters.map(
      (exporter) => new BatchSpanProcessor({ exporter: reporting(exporter, options.logger) }),
    ),
  });
}
