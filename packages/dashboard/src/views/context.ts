import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { ApiClient } from '../api/client.ts';
import type { Mesh } from '../api/types.ts';
import type { LiveStore } from '../state/live-store.ts';

export interface Dashboard {
  client: ApiClient;
  store: LiveStore;
  /** The mesh as last read, for naming nodes everywhere. */
  mesh: Mesh | undefined;
  /** A node's configured name, or the end of its peer id. */
  nodeName: (peer: string) => string;
}

export const DashboardContext = createContext<Dashboard | null>(null);

export function useDashboard(): Dashboard {
  const d = useContext(DashboardContext);
  if (d === null) throw new Error('useDashboard outside DashboardContext');
  return d;
}
