import { z } from 'zod';
import { envName, positive } from './field-schemas.ts';

export const shellSettings = z.strictObject({
  /** Working directory for commands that name none (relative to the config file). */
  cwd: z.string().optional(),
  /** Environment variables passed through from the daemon's environment; nothing else is inherited. */
  envAllow: z.array(envName).default(['PATH', 'HOME', 'LANG', 'TZ']),
  /** When set, argv[0] must be one of these. */
  allowCommands: z.array(z.string().min(1)).optional(),
  timeoutMs: positive(60_000),
  /** Bytes of stdout/stderr kept (tail) for the result. */
  maxOutputBytes: positive(64 * 1024),
});

export const httpSettings = z.strictObject({
  timeoutMs: positive(30_000),
  retries: z.number().int().min(0).max(20).default(2),
  backoffMs: z.number().int().min(0).default(200),
  /** When set, only these hosts (hostname or hostname:port) may be called. */
  allowHosts: z.array(z.string().min(1)).optional(),
  maxResponseBytes: positive(1024 * 1024),
});

export const moduleSettings = z.strictObject({
  /** Handler name -> module path (relative to the config file); tasks name a handler, never a path. */
  handlers: z.record(z.string().min(1), z.string().min(1)),
});

export const agentSchema = z.strictObject({
  id: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'expected an agent id (letters, digits, . _ : -)'),
  // The coordinator's rule for names: a config it would refuse must fail here, naming the field.
  capabilities: z
    .array(z.string().regex(/^[\w.:/@-]{1,128}$/, 'expected 1-128 letters, digits, _ . : / @ -'))
    .default([]),
  capacity: z.number().int().min(1).max(1024).default(1),
  executors: z
    .strictObject({
      shell: shellSettings.optional(),
      http: httpSettings.optional(),
      module: moduleSettings.optional(),
    })
    .refine((e) => e.shell !== undefined || e.http !== undefined || e.module !== undefined, {
      message: 'expected at least one of shell, http, module',
    }),
});

export type ShellSettings = z.output<typeof shellSettings>;
export type HttpSettings = z.output<typeof httpSettings>;
export type ModuleSettings = z.output<typeof moduleSettings>;
