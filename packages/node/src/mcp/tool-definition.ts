import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type {
  CallToolResult,
  ServerNotification,
  ServerRequest,
  ToolAnnotations,
} from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';
import type { Logger } from '../logger.ts';
import type { AgentSession } from './agent-session.ts';
import type { McpMetrics } from './metrics.ts';
import { refusalOf, refusalText, ToolRefusal } from './refusal.ts';

export type ToolExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** Every hint stated, so a client never falls back to the spec's cautious defaults. */
export type ToolHints = Required<
  Pick<ToolAnnotations, 'readOnlyHint' | 'destructiveHint' | 'idempotentHint' | 'openWorldHint'>
>;

export interface ToolSpec<I extends z.ZodObject, O extends z.ZodObject> {
  readonly title: string;
  readonly description: string;
  readonly input: I;
  readonly output: O;
  readonly hints: ToolHints;
}

/** A tool's structured answer: the JSON object its output schema describes. */
export type Structured = { [key: string]: unknown };

/** What every tool call of a session passes through. */
export interface ToolGate {
  readonly session: AgentSession;
  /** One write per event-loop iteration, as HTTP writes get (write-turns.ts). */
  readonly writeTurn: () => Promise<void>;
  readonly metrics: McpMetrics;
  readonly logger: Logger;
}

/**
 * Lets a call through: a tool that changes anything needs a session opened with the API key, and
 * waits for its write turn.
 */
export async function admit(gate: ToolGate, tool: string, hints: ToolHints): Promise<void> {
  if (hints.readOnlyHint) return;
  if (!gate.session.authorized) {
    throw new ToolRefusal(
      'unauthorized',
      `${tool} changes the mesh: open the MCP session with the API key (Authorization: Bearer <key>)`,
    );
  }
  await gate.writeTurn();
}

/** The refusal for a failed call; an error that is not a refusal is a fault, logged and answered as `internal`. */
export function refusalFor(gate: ToolGate, tool: string, err: unknown): ToolRefusal {
  const refusal = refusalOf(err);
  if (refusal !== undefined) return refusal;
  gate.logger.error({ err, tool }, 'MCP tool call failed');
  return new ToolRefusal('internal', err instanceof Error ? err.message : String(err));
}

export function structuredResult(value: Structured, note?: string): CallToolResult {
  return {
    content: [
      { type: 'text', text: JSON.stringify(value) },
      ...(note === undefined ? [] : [{ type: 'text' as const, text: note }]),
    ],
    structuredContent: value,
  };
}

/** A refusal as a tool error, its text starting with the code (see refusalText). */
export function refusalResult(refusal: ToolRefusal): CallToolResult {
  return { isError: true, content: [{ type: 'text', text: refusalText(refusal) }] };
}

/**
 * Registers a tool whose input is checked by `spec.input` (the SDK refuses a call that does not
 * match, naming the field) and whose answer is `spec.output`. Refusals of the node become tool
 * errors (`isError`) that name their code and field.
 */
export function defineTool<I extends z.ZodObject, O extends z.ZodObject>(
  server: McpServer,
  gate: ToolGate,
  name: string,
  spec: ToolSpec<I, O>,
  run: (args: z.output<I>, extra: ToolExtra) => Promise<Structured> | Structured,
): void {
  // Widened for the SDK's overloads, which cannot follow a generic schema to its output type.
  const input: z.ZodObject = spec.input;
  server.registerTool(
    name,
    {
      title: spec.title,
      description: spec.description,
      inputSchema: input,
      outputSchema: spec.output,
      annotations: { title: spec.title, ...spec.hints },
    },
    async (args, extra): Promise<CallToolResult> => {
      try {
        await admit(gate, name, spec.hints);
        // The SDK parsed `args` with spec.input.
        const result = structuredResult(await run(args as z.output<I>, extra));
        gate.metrics.toolCall(name, 'ok');
        return result;
      } catch (err) {
        const refusal = refusalFor(gate, name, err);
        gate.metrics.toolCall(name, refusal.code);
        return refusalResult(refusal);
      }
    },
  );
}
