import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type { Value } from '@meshwork/core';
import type { HttpSettings } from '../config.ts';
import { parseInput } from './input.ts';
import { abortError, ExecutorError, type ExecutionContext } from './types.ts';
import { traceHeaders } from '../telemetry/propagation.ts';

export const httpInput = z.strictObject({
  executor: z.literal('http'),
  method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']).default('GET'),
  url: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }),
  // Checked here as fetch would check them, so a header that can never be sent is refused at
  // submission instead of failing every attempt.
  headers: z
    .record(
      z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'expected an HTTP header name'),
      z.string().refine((v) => !/[\0\r\n]/.test(v), 'must not contain CR, LF or NUL'),
    )
    .optional(),
  /** A string is sent as-is; anything else as JSON. */
  body: z.unknown().optional(),
  /** At most the agent's configured retries. */
  retries: z.number().int().min(0).optional(),
  timeoutMs: z.number().int().positive().optional(),
});
export type HttpInput = z.input<typeof httpInput>;

/** Retried: network errors, timeouts, 408, 429 and 5xx. Other statuses are final. */
function retryable(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

async function readBody(res: Response, max: number): Promise<Uint8Array> {
  if (!res.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > max)
      throw new ExecutorError('response_too_large', `response body exceeds ${max} bytes`, { max });
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * Makes an HTTP call with retries and exponential backoff (with jitter). Sends the attempt's
 * idempotency key and epoch as `Idempotency-Key` and `Meshwork-Epoch` headers so the server can
 * de-duplicate and fence. A final non-2xx status fails the attempt with the status in the details.
 */
export async function runHttp(
  input: unknown,
  settings: HttpSettings,
  ctx: ExecutionContext,
): Promise<{ [key: string]: Value }> {
  const spec = parseInput(httpInput, input);
  const url = new URL(spec.url);
  if (
    settings.allowHosts &&
    !settings.allowHosts.includes(url.host) &&
    !settings.allowHosts.includes(url.hostname)
  ) {
    throw new ExecutorError('not_allowed', `host ${url.host} is not on this agent's allowHosts list`, {
      host: url.host,
    });
  }
  const retries = Math.min(spec.retries ?? settings.retries, settings.retries);
  const timeoutMs = Math.min(spec.timeoutMs ?? settings.timeoutMs, settings.timeoutMs);
  const headers: Record<string, string> = {
    'idempotency-key': ctx.idempotencyKey,
    'meshwork-epoch': String(ctx.epoch),
    // The server's spans join the task's trace, unless the task sends a context of its own.
    ...(Object.keys(spec.headers ?? {}).some((h) => h.toLowerCase() === 'traceparent') ? {} : traceHeaders()),
    ...spec.headers,
  };
  let body: string | undefined;
  if (spec.body !== undefined) {
    if (typeof spec.body === 'string') body = spec.body;
    else {
      body = JSON.stringify(spec.body);
      headers['content-type'] ??= 'application/json';
    }
  }

  let lastError: ExecutorError | undefined;
  for (let attempt = 0; attempt <= retries; attempt++) {
    if (attempt > 0) {
      const delay = settings.backoffMs * 2 ** (attempt - 1) * (0.5 + Math.random() / 2);
      ctx.progress({ http: 'retry', attempt, delayMs: Math.round(delay), reason: lastError?.message ?? '' });
      // An abort ends the wait early; the check below turns it into the attempt's error.
      await sleep(delay, undefined, { signal: ctx.signal }).catch(() => undefined);
    }
    if (ctx.signal.aborted) throw abortError(ctx.signal);
    const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(timeoutMs)]);
    let res: Response;
    try {
      // With a host allow-list, a redirect could lead elsewhere: it is returned, not followed.
      const redirect = settings.allowHosts ? 'manual' : 'follow';
      res = await fetch(url, { method: spec.method, headers, body, signal, redirect });
    } catch (err) {
      if (ctx.signal.aborted) throw abortError(ctx.signal);
      const timedOut = signal.aborted;
      lastError = new ExecutorError(
        timedOut ? 'timeout' : 'network',
        timedOut
          ? `${spec.method} ${url.href} timed out after ${timeoutMs} ms`
          : `${spec.method} ${url.href}: ${(err as Error).message}`,
      );
      continue;
    }
    let raw: Uint8Array;
    try {
      raw = await readBody(res, settings.maxResponseBytes);
    } catch (err) {
      if (ctx.signal.aborted) throw abortError(ctx.signal);
      if (err instanceof ExecutorError) throw err;
      lastError = new ExecutorError('network', `${spec.method} ${url.href}: ${(err as Error).message}`);
      continue;
    }
    const text = Buffer.from(raw).toString('utf8');
    let parsed: Value = text;
    if ((res.headers.get('content-type') ?? '').includes('json') && text !== '') {
      try {
        parsed = JSON.parse(text) as Value;
      } catch {
        parsed = text;
      }
    }
    if (res.ok) return { status: res.status, body: parsed, attempts: attempt + 1 };
    lastError = new ExecutorError('status', `${spec.method} ${url.href} answered ${res.status}`, {
      status: res.status,
      body: parsed,
    });
    if (!retryable(res.status)) throw lastError;
  }
  throw lastError ?? new ExecutorError('network', `${spec.method} ${url.href} failed`);
}
