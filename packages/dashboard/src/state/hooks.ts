import { useEffect, useState } from 'preact/hooks';
import type { ApiClient } from '../api/client.ts';
import type { LiveState, LiveStore } from './live-store.ts';

/** The store's state, re-rendering the component when it changes. */
export function useLive(store: LiveStore): LiveState {
  const [state, setState] = useState(store.state());
  useEffect(() => store.subscribe(() => setState(store.state())), [store]);
  return state;
}

export interface Polled<T> {
  data: T | undefined;
  error: Error | undefined;
}

/** `GET path` now, every `everyMs`, and whenever `trigger` changes. */
export function usePolled<T>(
  client: ApiClient,
  path: string | null,
  everyMs: number,
  trigger: unknown = 0,
): Polled<T> {
  const [state, setState] = useState<Polled<T>>({ data: undefined, error: undefined });
  useEffect(() => {
    if (path === null) return;
    let live = true;
    const fetchOnce = (): void => {
      client.get<T>(path).then(
        (data) => live && setState({ data, error: undefined }),
        (error: unknown) => live && setState((s) => ({ data: s.data, error: error as Error })),
      );
    };
    fetchOnce();
    const timer = setInterval(fetchOnce, everyMs);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [client, path, everyMs, trigger]);
  return state;
}

/** The hash route as path segments: `#/tasks/abc` is `['tasks', 'abc']`. */
export function useRoute(): string[] {
  const read = (): string[] =>
    location.hash
      .replace(/^#\/?/, '')
      .split('/')
      .filter((s) => s !== '')
      .map(decodeURIComponent);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const on = (): void => setRoute(read());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

export const href = (...segments: string[]): string => `#/${segments.map(encodeURIComponent).join('/')}`;
