import {
  createCoordinator,
  createDocumentPools,
  createDocumentStore,
  type AgentRegistration,
  type Coordinator,
} from '@meshwork/coordinator';
import { createMeshNode, type MeshNode, type MeshNodeOptions } from '@meshwork/transport';
import { ConfigError } from './config-error.ts';
import { coordinationDocument, type MeshDocument } from './mesh-state.ts';
import { parseSwarmKey } from './swarm-key.ts';
import { WORKER_CAPABILITY } from './workers/protocol.ts';

export interface JoinMeshOptions {
  /** Multiaddrs of one or more daemons (or other members) of the mesh, with their `/p2p/` peer id. */
  readonly bootstrap: readonly string[];
  /**
   * The mesh's swarm key when it is private: the contents of the file `meshwork init --swarm-key`
   * writes, or its 64 hex digits.
   */
  readonly swarmKey?: string;
  /** Where this program listens for its own peers; default `/ip4/127.0.0.1/tcp/0`. */
  readonly listen?: readonly string[];
  /** The transport's other options (identity, limits, topology, …). */
  readonly mesh?: Omit<MeshNodeOptions, 'bootstrap' | 'psk' | 'listen' | 'runtime'>;
}

/** A program's membership of a mesh of daemons: its agents take the tasks the daemons are given. */
export interface MeshMember {
  /**
   * Registers an agent that takes tasks submitted to any daemon whose `needs` it covers: a task
   * submitted over the API with `needs: ['resize']` and an input that is not an executor call
   * goes to an agent registered here with capability `resize`.
   */
  registerAgent(agent: AgentRegistration): { id: string; unregister(): void };
  /** The coordinator over the mesh's shared state, for submitting, watching and workflows. */
  readonly coordinator: Coordinator;
  readonly mesh: MeshNode<MeshDocument>;
  /** Drains this program's running tasks (up to `drainMs`), then leaves the mesh. */
  stop(options?: { drainMs?: number }): Promise<void>;
}

/**
 * Joins a program to a mesh of `meshwork` daemons as a member that runs agents in-process. It
 * syncs the daemons' coordination Document and follows their task conventions, so the program
 * needs to know neither: a task submitted to any daemon may run here, and one submitted here may
 * run on any daemon. Resolves once the program has caught up with its peers.
 */
export async function joinMesh(options: JoinMeshOptions): Promise<MeshMember> {
  const psk = options.swarmKey === undefined ? undefined : parseSwarmKey(options.swarmKey);
  if (options.swarmKey !== undefined && psk === undefined)
    throw new ConfigError(['swarmKey: not a swarm key file nor 64 hex digits']);
  const mesh: MeshNode<MeshDocument> = await createMeshNode({
    ...options.mesh,
    bootstrap: [...options.bootstrap],
    ...(options.listen !== undefined && { listen: [...options.listen] }),
    ...(psk !== undefined && { psk }),
  });
  try {
    const document = mesh.attach(coordinationDocument(mesh.replica));
    const caughtUp = mesh.catchUp().then(() => undefined);
    const coordinator = createCoordinator({
      document,
      store: createDocumentStore(document),
      resources: createDocumentPools(document),
      presence: mesh.presence,
      catchUp: caughtUp,
    });
    await caughtUp;
    return {
      coordinator,
      mesh,
      // Tasks submitted over a daemon's API with a plain input need the pull-worker capability:
      // an in-process agent is a worker that needs no HTTP.
      registerAgent: (agent) =>
        coordinator.registerAgent({
          ...agent,
          capabilities: [...new Set([...agent.capabilities, WORKER_CAPABILITY])],
        }),
      async stop(stopOptions = {}) {
        try {
          await coordinator.stop(stopOptions);
        } finally {
          await mesh.stop();
        }
      },
    };
  } catch (err) {
    await mesh.stop();
    throw err;
  }
}
