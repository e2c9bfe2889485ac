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
import { diffAgents, type AgentChanges } from './reload/plan.ts';

/** The agents a node registers from its config, changed in place when the config is reloaded. */
export interface ConfiguredAgents {
  /**
   * Makes `agents` the registered ones: registers those added, unregisters those removed and
   * registers again those whose settings changed. An agent unregistered here claims nothing more;
   * the attempts it is running finish under the settings they started with.
   */
  apply(agents: readonly AgentConfig[]): AgentChanges;
  /** Ids registered now. */
  ids(): string[];
  /**
   * Whether the config registered `id` on this node at any time since start: a removed agent's
   * running attempts still end here.
   */
  isLocal(id: string): boolean;
}

/**
 * Registers the configured agents. Each gets the capability `executor:<kind>` for every
 * executor it may run, and a handler that runs the task's input through that executor.
 */
export function registerAgents(
  coordinator: Coordinator,
  agents: readonly AgentConfig[],
  nodeName: string,
  logger: Logger,
): ConfiguredAgents {
  const registered = new Map<
    string,
    { readonly config: AgentConfig; readonly registration: { unregister(): void } }
  >();
  const ever = new Set<string>();
  const register = (agent: AgentConfig): void => {
    const executors = allowedExecutors(agent);
    const registration = coordinator.registerAgent({
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
    registered.set(agent.id, { config: agent, registration });
    ever.add(agent.id);
  };
  for (const agent of agents) register(agent);

  return {
    apply(next) {
      const changes = diffAgents(
        [...registered.values()].map((r) => r.config),
        next,
      );
      for (const id of [...changes.removed, ...changes.changed]) {
        registered.get(id)!.registration.unregister();
        registered.delete(id);
      }
      for (const agent of next) if (!registered.has(agent.id)) register(agent);
      return changes;
    },
    ids: () => [...registered.keys()],
    isLocal: (id) => ever.has(id),
  };
}
