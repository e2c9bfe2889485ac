/**
 * A CPU profile of one running daemon over a window of the bench, without restarting it: SIGUSR1
 * opens Node's inspector on 127.0.0.1:9229, and the profiler is driven over the DevTools
 * protocol. One daemon at a time (the port is fixed); the inspector stays open until the daemon
 * exits, so profile a daemon the run stops or kills afterwards, or the same one again.
 */
import { writeFileSync } from 'node:fs';
import { sleep } from '../../packages/node/test/support/processes.ts';

interface InspectorTarget {
  readonly webSocketDebuggerUrl: string;
}

/** The inspector's WebSocket address, once the process has opened it. */
async function inspectorUrl(pid: number): Promise<string> {
  process.kill(pid, 'SIGUSR1');
  for (let i = 0; i < 100; i++) {
    try {
      const targets = (await (await fetch('http://127.0.0.1:9229/json/list')).json()) as InspectorTarget[];
      if (targets[0] !== undefined) return targets[0].webSocketDebuggerUrl;
    } catch {
      // Not listening yet.
    }
    await sleep(100);
  }
  throw new Error(`process ${pid} did not open its inspector on 127.0.0.1:9229`);
}

/** Sends DevTools commands over one socket, one answer per command. */
async function devtools(url: string) {
  const socket = new WebSocket(url);
  await new Promise((resolve, reject) => {
    socket.addEventListener('open', resolve, { once: true });
    socket.addEventListener('error', reject, { once: true });
  });
  let nextId = 1;
  const waiting = new Map<number, (result: unknown) => void>();
  socket.addEventListener('message', (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown };
    if (message.id === undefined) return;
    waiting.get(message.id)?.(message.result);
    waiting.delete(message.id);
  });
  return {
    send<T>(method: string, params: object = {}): Promise<T> {
      const id = nextId++;
      socket.send(JSON.stringify({ id, method, params }));
      return new Promise((resolve) => waiting.set(id, (r) => resolve(r as T)));
    },
    close: () => socket.close(),
  };
}

/** Runs `during` while the process `pid` is profiled; writes its profile (`.cpuprofile`) to `file`. */
export async function profileDuring<T>(pid: number, file: string, during: () => Promise<T>): Promise<T> {
  const session = await devtools(await inspectorUrl(pid));
  try {
    await session.send('Profiler.enable');
    await session.send('Profiler.start');
    const result = await during();
    const { profile } = await session.send<{ profile: unknown }>('Profiler.stop');
    writeFileSync(file, JSON.stringify(profile));
    return result;
  } finally {
    session.close();
  }
}
