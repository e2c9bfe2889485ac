import type { JSX } from 'preact';
import { useMemo, useState } from 'preact/hooks';
import { createApiClient } from '../api/client.ts';
import type { Mesh, Status } from '../api/types.ts';
import { shortId } from '../components/topology-graph.tsx';
import { createLiveStore } from '../state/live-store.ts';
import { href, useLive, usePolled, useRoute } from '../state/hooks.ts';
import { AgentsView } from './agents.tsx';
import { ChartsView } from './charts.tsx';
import { DashboardContext, type Dashboard } from './context.ts';
import { KeyBar } from './key-bar.tsx';
import { MemoryView } from './memory.tsx';
import { TaskPage } from './task-page.tsx';
import { TasksView } from './tasks.tsx';
import { TopologyView } from './topology.tsx';
import { WorkflowsView } from './workflows.tsx';

/** Kept for the tab only: a key should not outlive the session that entered it. */
const KEY_STORAGE = 'meshwork.apiKey';

const VIEWS = [
  ['topology', 'Topology'],
  ['agents', 'Agents'],
  ['tasks', 'Tasks'],
  ['workflows', 'Workflows'],
  ['memory', 'Memory'],
  ['charts', 'Charts'],
] as const;

function Main({ route }: { route: string[] }): JSX.Element {
  const [view = 'topology', a, b] = route;
  switch (view) {
    case 'agents':
      return <AgentsView />;
    case 'tasks':
      return a !== undefined ? <TaskPage id={a} /> : <TasksView />;
    case 'workflows':
      return <WorkflowsView selected={a} />;
    case 'memory':
      return <MemoryView document={a} member={b} />;
    case 'charts':
      return <ChartsView />;
    default:
      return <TopologyView />;
  }
}

export function App(): JSX.Element {
  const [key, setKey] = useState(() => sessionStorage.getItem(KEY_STORAGE) ?? '');
  const keyRef = useMemo(() => ({ current: key }), []);
  keyRef.current = key;
  const client = useMemo(() => createApiClient(() => keyRef.current), [keyRef]);
  const store = useMemo(() => createLiveStore(client), [client]);
  const live = useLive(store);
  const route = useRoute();
  const status = usePolled<Status>(client, '/v1/status', 10_000, key);
  const mesh = usePolled<Mesh>(client, '/v1/mesh', 3_000, `${live.peerChanges}|${key}`);

  const dashboard = useMemo<Dashboard>(() => {
    const names = new Map((mesh.data?.nodes ?? []).map((n) => [n.id, n.name ?? shortId(n.id)]));
    return { client, store, mesh: mesh.data, nodeName: (peer) => names.get(peer) ?? shortId(peer) };
  }, [client, store, mesh.data]);

  const useKey = (k: string): void => {
    if (k === '') sessionStorage.removeItem(KEY_STORAGE);
    else sessionStorage.setItem(KEY_STORAGE, k);
    setKey(k);
  };

  return (
    <DashboardContext.Provider value={dashboard}>
      <header>
        <h1>Meshwork</h1>
        <span class="node-name" id="node-name">
          {status.data !== undefined ? `${status.data.node} · ${status.data.peers} peers` : ''}
        </span>
        <span class={`conn ${live.connected ? 'up' : 'down'}`} id="connection">
          {live.connected ? 'live' : 'connecting…'}
        </span>
        <KeyBar hasKey={key !== ''} onKey={useKey} />
      </header>
      <nav>
        {VIEWS.map(([id, label]) => (
          <a
            key={id}
            href={href(id)}
            class={(route[0] ?? 'topology') === id ? 'active' : ''}
            id={`nav-${id}`}
          >
            {label}
          </a>
        ))}
      </nav>
      <main>
        <Main route={route} />
      </main>
    </DashboardContext.Provider>
  );
}
