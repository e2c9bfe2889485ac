import { checkData, CoordinatorError, PermanentTaskError, type Coordinator } from '@meshwork/coordinator';
import type { Value } from '@meshwork/core';
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
        // Results and progress enter the shared state: past its limits, peers and this node's
        // own restore could not read them back.
        const progress = (data: Value): void => {
          try {
            ctx.progress(data);
          } catch (err) {
            if (!(err instanceof CoordinatorError)) throw err;
            log.warn(`progress dropped: ${err.message}`);
          }
        };
        try {
          const result = await execute(agent, ctx.input, {
            signal: ctx.signal,
            epoch: ctx.epoch,
            idempotencyKey: ctx.idempotencyKey,
            progress,
          });
          try {
            checkData('result', result);
          } catch (err) {
            throw new ExecutorError('limit_exceeded', (err as Error).message);
          }
          log.info('attempt succeeded');
          return result;
        } catch (err) {
          log.warn({ err }, 'attempt failed');
          // Bad input, anything outside the agent's allow-lists and a result past the limits fail
          // the same way on every retry.
          const permanent =
            err instanceof ExecutorInputError ||
            (err instanceof ExecutorError && (err.code === 'not_allowed' || err.code === 'limit_exceeded'));
          if (permanent) throw new PermanentTaskError((err as Error).message);
          throw err;
        }
      },
    });
  }
}
