import { context, type TracerProvider as ApiTracerProvider } from '@opentelemetry/api';
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

/** The node's tracing: a provider its mesh, coordinator and HTTP API record into, and its shutdown. */
export interface NodeTracing {
  /** Undefined when tracing is off: the libraries then use the global provider, a no-op unless registered. */
  readonly provider: ApiTracerProvider | undefined;
  /** Exports what is still batched, then stops exporting; never rejects. */
  shutdown(): Promise<void>;
}

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
 * The node's tracer provider, when telemetry is configured or an exporter is given. Spans are
 * batched (sent every 5 s, and at shutdown); the sampler follows the parent's decision, so a task's spans on other nodes are kept
 * exactly when its submit span was, and roots are kept at `sampleRatio`.
 */
export function startTracing(config: TelemetryConfig | undefined, options: NodeTracingOptions): NodeTracing {
  const exporters: SpanExporter[] = [];
  if (config?.otlp !== undefined) {
    const { url, headers } = config.otlp;
    exporters.push(new OTLPTraceExporter({ url, headers, timeoutMillis: EXPORT_TIMEOUT_MS }));
  }
  if (options.exporter !== undefined) exporters.push(options.exporter);
  if (exporters.length === 0) return { provider: undefined, shutdown: () => Promise.resolve() };
  useAsyncContext();
  const provider = new TracerProvider({
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
  // A failed export is in the log already (see reporting): stopping goes on without those spans.
  return { provider, shutdown: () => provider.shutdown().catch(() => undefined) };
}
