import type { ReplicaId } from '@meshwork/core';
import type { Clock } from '../clock.ts';
import { CoordinatorError, invalid } from '../errors.ts';
import { checkData, checkName, type AgentId, type AgentInfo } from '../model.ts';
import type { RecordWrite } from '../store.ts';
import type { AgentRegistration, TaskHandler } from './api.ts';

export interface LocalAgent {
  readonly info: AgentInfo;
  readonly handler: TaskHandler;
}

/** The agents registered on this node: what they are to the mesh, and the handlers that run their tasks. */
export interface LocalAgents {
  /** Checks the registration, then announces the agent with an agent record. */
  register(registration: AgentRegistration): { readonly id: AgentId; unregister(): void };
  get(id: AgentId): LocalAgent | undefined;
  /** The registered agents as the mesh sees them, in registration order. */
  readonly infos: ReadonlyMap<AgentId, AgentInfo>;
  /** Records retiring every registered agent, for a clean stop. */
  retirements(): RecordWrite[];
  /** Forgets every agent (stopped): none is claimed for or started any more. */
  clear(): void;
}

export interface LocalAgentsDeps {
  readonly replica: ReplicaId;
  readonly clock: Clock;
  readonly write: (records: readonly RecordWrite[]) => void;
}

export function createLocalAgents(deps: LocalAgentsDeps): LocalAgents {
  const { replica, clock, write } = deps;
  const local = new Map<AgentId, LocalAgent>();
  const infos = new Map<AgentId, AgentInfo>();
  return {
    register(reg) {
      if (typeof reg !== 'object' || reg === null) throw invalid('agent', 'must be an object');
      const id = checkName('id', reg.id);
      if (local.has(id))
        throw new CoordinatorError('duplicate_agent', `agent "${id}" is already registered here`, 'id');
      if (!Array.isArray(reg.capabilities)) throw invalid('capabilities', 'must be an array of names');
      const capabilities = [
        ...new Set(reg.capabilities.map((c, i) => checkName(`capabilities[${i}]`, c))),
      ].sort();
      const capacity = reg.capacity ?? 1;
      if (!Number.isSafeInteger(capacity) || capacity < 1 || capacity > 100_000)
        throw invalid('capacity', 'must be an integer from 1 to 100000');
      const metadata = reg.metadata ?? {};
      checkData('metadata', metadata);
      if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))
        throw invalid('metadata', 'must be an object of plain data');
      if (typeof reg.handler !== 'function') throw invalid('handler', 'must be a function');
      const info: AgentInfo = {
        id,
        node: replica,
        capabilities,
        capacity,
        metadata,
        registeredAt: clock.now(),
        retired: false,
      };
      local.set(id, { info, handler: reg.handler });
      infos.set(id, info);
      write([{ kind: 'agent', key: id, value: { ...info } }]);
      return {
        id,
        unregister() {
          if (!local.delete(id)) return;
          infos.delete(id);
          write([{ kind: 'agent', key: id, value: { ...info, retired: true } }]);
        },
      };
    },
    get: (id) => local.get(id),
    infos,
    retirements: () =>
      [...infos.values()].map((info): RecordWrite => ({
        kind: 'agent',
        key: info.id,
        value: { ...info, retired: true },
      })),
    clear() {
      local.clear();
      infos.clear();
    },
  };
}
