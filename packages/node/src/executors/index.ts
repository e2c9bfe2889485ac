import type { Value } from '@meshwork/core';
import type { AgentConfig } from '../config.ts';
import { runHttp } from './http.ts';
import { runModule } from './module.ts';
import { runShell } from './shell.ts';
import {
  EXECUTOR_KINDS,
  ExecutorInputError,
  ExecutorNotAllowedError,
  type ExecutionContext,
  type ExecutorKind,
} from './types.ts';

export * from './types.ts';
export { runShell, shellInput, type ShellInput } from './shell.ts';
export { runHttp, httpInput, type HttpInput } from './http.ts';
export { runModule, moduleInput, type ModuleInput, type ModuleHandler } from './module.ts';

/** Capability an agent gets for each executor it may run, so tasks route only to agents that can run them. */
export function executorCapability(kind: ExecutorKind): string {
  return `executor:${kind}`;
}

/** Reads `input.executor`; throws {@link ExecutorInputError} when it is not a known executor. */
export function executorOf(input: unknown): ExecutorKind {
  const kind =
    typeof input === 'object' && input !== null && 'executor' in input ? input.executor : undefined;
  if (typeof kind === 'string' && (EXECUTOR_KINDS as readonly string[]).includes(kind))
    return kind as ExecutorKind;
  throw new ExecutorInputError(`invalid task input: executor: expected one of ${EXECUTOR_KINDS.join(', ')}`);
}

/** Runs a task input with the executor it names, if the agent's config allows that executor. */
export async function execute(agent: AgentConfig, input: unknown, ctx: ExecutionContext): Promise<Value> {
  const kind = executorOf(input);
  switch (kind) {
    case 'shell':
      if (!agent.executors.shell) throw new ExecutorNotAllowedError(agent.id, kind);
      return runShell(input, agent.executors.shell, ctx);
    case 'http':
      if (!agent.executors.http) throw new ExecutorNotAllowedError(agent.id, kind);
      return runHttp(input, agent.executors.http, ctx);
    case 'module':
      if (!agent.executors.module) throw new ExecutorNotAllowedError(agent.id, kind);
      return runModule(input, agent.executors.module, ctx);
  }
}

/** Executors an agent's config names. */
export function allowedExecutors(agent: AgentConfig): ExecutorKind[] {
  return EXECUTOR_KINDS.filter((k) => agent.executors[k] !== undefined);
}
