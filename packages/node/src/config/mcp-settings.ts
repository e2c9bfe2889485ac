import { z } from 'zod';
import { positive } from './field-schemas.ts';

export const defaultMcpSettings = Object.freeze({
  maxSessions: 100,
  sessionIdleMs: 600_000,
});

/** The MCP server at `/mcp`: how many sessions it keeps, and for how long an unused one. */
export const mcpSettings = z
  .strictObject({
    maxSessions: positive(defaultMcpSettings.maxSessions),
    /** A session with no request and no open stream for this long is closed. */
    sessionIdleMs: z
      .number()
      .int('expected a whole number')
      .min(1_000, 'expected at least 1000 ms')
      .default(defaultMcpSettings.sessionIdleMs),
  })
  .default(() => ({ ...defaultMcpSettings }));

export type McpSettings = z.output<typeof mcpSettings>;
