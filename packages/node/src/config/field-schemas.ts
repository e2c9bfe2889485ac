import { peerIdFromString } from '@libp2p/peer-id';
import { z } from 'zod';

export const nodeName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'expected 1-64 letters, digits, ".", "_" or "-"');

export const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/** A libp2p peer id in its string form (`12D3KooW…`). */
export const peerId = z.string().refine(
  (s) => {
    try {
      peerIdFromString(s);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'expected a peer id (12D3KooW…)' },
);

export const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name');

/** A refinement refusing an array whose elements repeat a `key`, naming the repeat's field. */
export const unique =
  <K extends string>(key: K, message: (value: string) => string) =>
  (items: readonly Record<K, string>[], ctx: z.RefinementCtx): void => {
    const seen = new Set<string>();
    items.forEach((item, i) => {
      if (seen.has(item[key])) ctx.addIssue({ code: 'custom', path: [i, key], message: message(item[key]) });
      seen.add(item[key]);
    });
  };

/** A positive whole number (milliseconds, bytes) with a default. */
export const positive = (fallback: number): z.ZodDefault<z.ZodNumber> =>
  z.number().int().positive().default(fallback);

/** A whole number >= 0 with a default. */
export const nonNegative = (fallback: number): z.ZodDefault<z.ZodNumber> =>
  z.number().int('expected a whole number').min(0, 'expected a number >= 0').default(fallback);
