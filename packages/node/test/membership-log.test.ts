import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Emitter,
  type MemberStatus,
  type PresenceChannel,
  type PresenceEvents,
  type PresenceState,
} from '@meshwork/core';
import { afterEach, expect, it, vi } from 'vitest';
import { createLogger } from '../src/logger.ts';
import { logMembership } from '../src/membership-log.ts';

const dirs: string[] = [];
afterEach(() => {
  vi.useRealTimers();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A presence channel whose changes the test makes, and the file node n1 logs them to. */
function channel(): {
  file: string;
  change: (peer: string, status: MemberStatus, state?: PresenceState) => void;
} {
  const dir = mkdtempSync(join(tmpdir(), 'meshwork-membership-log-'));
  dirs.push(dir);
  const file = join(dir, 'daemon.log');
  const events = new Emitter<PresenceEvents>();
  const statuses = new Map<string, MemberStatus>();
  const presence: PresenceChannel = Object.assign(events, {
    self: 'self',
    publish: () => undefined,
    status: (node: string) => statuses.get(node),
    members: () => statuses.keys(),
  });
  logMembership(presence, createLogger({ level: 'info', name: 'n1', file }));
  return {
    file,
    change(peer, status, state = {}) {
      statuses.set(peer, status);
      events.emit('presence', [peer, status === 'alive' ? state : null]);
    },
  };
}

const lines = (file: string): Record<string, unknown>[] =>
  readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

it('logs each change of a node’s status once, not its presence state’s changes', async () => {
  vi.useFakeTimers({ now: 1_000_000, toFake: ['Date'] });
  const { file, change } = channel();
  change('self', 'alive');
  change('p1', 'alive', { pools: 1 });
  change('p1', 'alive', { pools: 2 });
  change('p1', 'unreachable');
  vi.setSystemTime(1_002_500);
  change('p1', 'alive', { pools: 2 });
  change('p1', 'left');
  change('p1', 'alive');
  await vi.waitFor(() => expect(readFileSync(file, 'utf8').split('\n')).toHaveLength(6), { timeout: 5_000 });

  expect(lines(file)).toMatchObject([
    { level: 'info', node: 'n1', peer: 'p1', msg: 'node joined' },
    { peer: 'p1', msg: 'node unreachable' },
    { peer: 'p1', unreachableMs: 2_500, msg: 'node reachable again' },
    { peer: 'p1', msg: 'node left' },
    { peer: 'p1', msg: 'node joined' },
  ]);
});
