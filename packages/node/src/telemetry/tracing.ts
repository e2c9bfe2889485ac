import type { TracerProvider as ApiTracerProvider } from '@opentelemetry/api';
import type { TelemetryConfig } from '../config.ts';
import type { NodeTracingOptions } from './tracer-provider.ts';

/** The node's tracing: a provider its mesh, coordinator and HTTP API record into, and its shutdown. */
export interface NodeTracing {
  /** Undefined when tracing is off: the libraries then use the global provider, a no-op unless registered. */
  readonly provider: ApiTracerProvider | undefined;
  /** Exports what is still batched, then stops exporting; never rejects. */
  shutdown(): Promise<void>;
}

/**
 * The node's tracer provider, when telemetry is configured or an exporter is given. The
 * OpenTelemetry SDK and exporter are loaded only then: a node that does not trace does not hold
 * them in memory.
 */
export async function startTracing(
  config: TelemetryConfig | undefined,
  options: NodeTracingOptions,
): Promise<NodeTracing> {
  if (config?.otlp === undefined && options.exporter === undefined)
    return { provider: undefined, shutdown: () => Promise.resolve() };
  const { createTracerProvider } = await import('./tracer-provider.ts');
  const provider = createTracerProvider(config, options);
  // A failed export is in the log already: stopping goes on without those spans.
  return { provider, shutdown: () => provider.shutdown().catch(() => undefined) };
}
