import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { api, startDaemonProcess, tempDir, waitFor, type DaemonProcess } from './support/processes.ts';

interface AgentRow {
  readonly id: string;
  readonly live: boolean;
}

/**
 * A daemon that stops answering without closing its connections (SIGSTOP: a hung process, or a
 * host gone silent). Its TCP connections stay open, so only membership's heartbeats can find it:
 * its peers count it gone, close their connections to it, and take it back once it resumes; it
 * tells of its stall.
 */
describe('a paused daemon', () => {
  const dir = tempDir('paused');
  const daemons: DaemonProcess[] = [];
  afterAll(() => {
    for (const d of daemons) {
      d.child.kill('SIGCONT');
      d.child.kill('SIGTERM');
    }
  });

  const agentLive = async (d: DaemonProcess, agent: string): Promise<boolean> =>
    (await api<AgentRow[]>(d.info.url, '/v1/agents')).body.some((a) => a.id === agent && a.live);
  const peers = async (d: DaemonProcess): Promise<string[]> =>
    (await api<{ peerId: string }[]>(d.info.url, '/v1/peers')).body.map((p) => p.peerId);

  it('is found by its peers, its connections are closed, and it is back once it resumes', async () => {
    const start = (name: string, bootstrap: string[]) =>
      startDaemonProcess(
        dir,
        {
          name,
          bootstrap,
          logLevel: 'warn',
          agents: [{ id: `${name}-agent`, capabilities: [name], executors: { shell: {} } }],
        },
        { supervised: true },
      );
    const a = await start('a', []);
    daemons.push(a);
    const b = await start('b', [a.info.multiaddrs[0]!]);
    daemons.push(b);
    const c = await start('c', [a.info.multiaddrs[0]!, b.info.multiaddrs[0]!]);
    daemons.push(c);
    for (const d of [a, b])
      await waitFor(`${d.info.node} to see c's agent live`, 30_000, async () =>
        (await agentLive(d, 'c-agent')) ? true : undefined,
      );
    expect(await peers(a)).toContain(c.info.peerId);
    // A task only c's agent can run, running as c stops: its lease keeps c's coordinator ticking,
    // so c finds on waking that it stalled.
    const submitted = await api(c.info.url, '/v1/tasks', {
      body: { id: 'on-c', needs: ['c'], input: { executor: 'shell', argv: ['sleep', '120'] } },
    });
    expect(submitted.status).toBe(201);
    await waitFor('the task to run on c', 30_000, async () =>
      (await api<{ status: string }>(c.info.url, '/v1/tasks/on-c')).body.status === 'running'
        ? true
        : undefined,
    );

    const stoppedAt = Date.now();
    c.child.kill('SIGSTOP');
    for (const d of [a, b]) {
      await waitFor(`${d.info.node} to count c gone`, 30_000, async () =>
        (await agentLive(d, 'c-agent')) ? undefined : true,
      );
      // Its TCP connection never closed: the silent link is closed by membership.
      await waitFor(`${d.info.node} to close its connection to c`, 60_000, async () =>
        (await peers(d)).includes(c.info.peerId) ? undefined : true,
      );
    }
    expect(await agentLive(a, 'b-agent')).toBe(true);
    // Each closing is logged with the peer and how long its link was silent, and counted.
    for (const d of [a, b]) {
      const closings = readFileSync(join(d.dataDir, 'daemon.log'), 'utf8')
        .split('\n')
        .filter((line) => line.includes('"closed a silent link"'))
        .map(
          (line) => JSON.parse(line) as { peer: string; silentMs: number; streams: { protocol?: string }[] },
        );
      expect(closings.map((l) => l.peer)).toContain(c.info.peerId);
      for (const l of closings) {
        expect(l.silentMs).toBeGreaterThan(10_000);
        // The state of the link's streams as it was given up, membership's among them.
        expect(l.streams.map((s) => s.protocol)).toContain('/meshwork/members/4');
      }
      const { body } = await api<string>(d.info.url, '/metrics');
      expect(body).toMatch(new RegExp(`^meshwork_silent_links_closed_total ${closings.length}$`, 'm'));
    }

    const stoppedMs = Date.now() - stoppedAt;
    c.child.kill('SIGCONT');
    for (const d of [a, b])
      await waitFor(`${d.info.node} to see c's agent live again`, 60_000, async () =>
        (await agentLive(d, 'c-agent')) && (await peers(d)).includes(c.info.peerId) ? true : undefined,
      );
    // c logged its stall, as long as it was stopped less the time to its first timer due in it
    // (its coordinator's passes, at most a lease apart while it runs a task), and counted it.
    const stalls = readFileSync(join(c.dataDir, 'daemon.log'), 'utf8')
      .split('\n')
      .filter((line) => line.includes('"event loop stalled"'))
      .map((line) => JSON.parse(line) as { stalledMs: number; holdMs: number });
    expect(stalls.length).toBeGreaterThan(0);
    expect(Math.max(...stalls.map((l) => l.stalledMs))).toBeGreaterThan(stoppedMs - 3_000);
    // Its peers had closed both its links: it woke to every other node gone at once, and held
    // for that too until it reached them again.
    const isolations = readFileSync(join(c.dataDir, 'daemon.log'), 'utf8')
      .split('\n')
      .filter((line) =>
        line.includes('"lost every other node at once: holding until one is reachable again"'),
      )
      .map((line) => JSON.parse(line) as { lost: number; holdMs: number });
    expect(isolations.length).toBeGreaterThan(0);
    for (const l of isolations) expect(l.lost).toBe(2);
    const { body } = await api<string>(c.info.url, '/metrics');
    expect(body).toMatch(new RegExp(`^meshwork_stalls_total ${stalls.length}$`, 'm'));
    expect(body).toMatch(new RegExp(`^meshwork_isolations_total ${isolations.length}$`, 'm'));
  }, 180_000);
});
