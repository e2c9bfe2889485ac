import { PermanentTaskError, type Coordinator } from '@meshwork/coordinator';
import type { AgentConfig } from './config.ts';
import {
  allowedExecutors,
  execute,
  executorCapability,
  ExecutorError,
  ExecutorInputError,
} from './executors/index.ts';
import type { Logger } from './logger.ts';

/**
 * Registers the configured agents. Each gets the capability `executor:<kind>` for every
 * executor it may run, and a handler that runs the task's input through that executor.
 */
export function registerAgents(
  coordinator: Coordinator,
  agents: readonly AgentConfig[],
  nodeName: string,
  logger: Logger,
): void {
  for (const agent of agents) {
    const executors = allowedExecutors(agent);
    coordinator.registerAgent({
      id: agent.id,
      capabilities: [...new Set([...agent.capabilities, ...executors.map(executorCapability)])],
      capacity: agent.capacity,
      metadata: { node: nodeName, executors },
      handler: async (task, ctx) => {
        const log = logger.child({ task: task.id, agent: agent.id, epoch: ctx.epoch });
        log.info('attempt started');
        try {
          const result = await execute(agent, ctx.input, ctx);
          log.info('attempt succeeded');
          return result;
        } catch (err) {
          log.warn({ err }, 'attempt failed');
          // Bad input and anything outside the agent's allow-lists fail the same way on every retry.
          const permanent =
            err instanceof ExecutorInputError || (err instanceof ExecutorError && err.code === 'not_allowed');
          if (permanent) throw new PermanentTaskError((err as Error).message);
          throw err;
        }
      },
    });
  }
}
