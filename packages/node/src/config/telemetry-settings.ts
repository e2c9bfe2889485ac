import { z } from 'zod';

/** Traces exported over OTLP/HTTP (JSON); see the README's "Traces". */
export const telemetrySchema = z
  .strictObject({
    otlp: z
      .strictObject({
        /** The collector's traces endpoint, e.g. http://localhost:4318/v1/traces. */
        url: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }),
        /** Sent with every export (an API key of a hosted backend). */
        headers: z
          .record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'expected a header name'), z.string())
          .default({}),
      })
      .optional(),
    /** The `service.name` of every span. */
    serviceName: z.string().min(1).max(256).default('meshwork'),
    /** Share of traces kept, decided where a trace starts (a task's submit); 0 to 1. */
    sampleRatio: z
      .number()
      .min(0, 'expected a number from 0 to 1')
      .max(1, 'expected a number from 0 to 1')
      .default(1),
  })
  .refine((t) => t.otlp !== undefined, {
    message: 'expected otlp: { url } (or the environment variable OTEL_EXPORTER_OTLP_ENDPOINT)',
    path: ['otlp'],
  });
