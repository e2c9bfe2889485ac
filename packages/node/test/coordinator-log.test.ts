import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CoordinatorEvents } from '@meshwork/coordinator';
import { Emitter } from '@meshwork/core';
import { afterEach, expect, it, vi } from 'vitest';
import { logCoordinatorEvents } from '../src/coordinator-log.ts';
import { createLogger } from '../src/logger.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Coordinator events, logged at `level` by node n1 to a file of their own. */
function logged(level: string): { file: string; events: Emitter<CoordinatorEvents> } {
  const dir = mkdtempSync(join(tmpdir(), 'meshwork-coordinator-log-'));
  dirs.push(dir);
  const file = join(dir, 'daemon.log');
  const events = new Emitter<CoordinatorEvents>();
  logCoordinatorEvents(events, createLogger({ level, name: 'n1', file }));
  return { file, events };
}

it('an epoch declared lost names this node and the holder under keys of their own', async () => {
  const { file, events } = logged('info');
  events.emit('failover', [
    {
      task: 't1',
      epoch: 2,
      agent: 'n2-agent',
      node: '12D3KooWholder',
      at: 0,
      reason: 'lease',
      started: true,
    },
  ]);
  // The file is written asynchronously (as in the daemon): the line is read once it is whole.
  await vi.waitFor(() => expect(readFileSync(file, 'utf8')).toMatch(/\n$/), { timeout: 5_000 });

  const line = readFileSync(file, 'utf8').trim();
  const keys = [...line.matchAll(/"(\w+)":/g)].map((m) => m[1]);
  // A JSON reader keeps the last of two equal keys: each must appear once.
  expect(keys.length).toBeGreaterThan(0);
  expect(new Set(keys).size).toBe(keys.length);
  expect(JSON.parse(line)).toMatchObject({
    level: 'info',
    node: 'n1',
    holder: '12D3KooWholder',
    agent: 'n2-agent',
    task: 't1',
    epoch: 2,
    reason: 'lease',
    started: true,
    msg: 'attempt declared lost',
  });
});

it('a stall is logged as the node wakes, and again when nodes lost in its wake hold it longer', async () => {
  const { file, events } = logged('warn');
  events.emit('stalled', [{ from: 1000, to: 13_500, holdUntil: 26_000, reason: 'woke' }]);
  events.emit('stalled', [{ from: 1000, to: 13_500, holdUntil: 63_500, reason: 'lost-nodes' }]);
  await vi.waitFor(() => expect(readFileSync(file, 'utf8').split('\n')).toHaveLength(3), { timeout: 5_000 });

  const lines = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(lines).toMatchObject([
    { level: 'warn', stalledMs: 12_500, holdMs: 12_500, msg: 'event loop stalled' },
    {
      level: 'warn',
      stalledMs: 12_500,
      holdMs: 50_000,
      msg: 'nodes lost in the wake of a stall: holding longer',
    },
  ]);
});

it('a replica that lost every other node at once logs how many and how long it may hold', async () => {
  const { file, events } = logged('warn');
  events.emit('isolated', [{ at: 4_000, lost: 49, holdUntil: 34_000 }]);
  await vi.waitFor(() => expect(readFileSync(file, 'utf8')).toMatch(/\n$/), { timeout: 5_000 });
  expect(JSON.parse(readFileSync(file, 'utf8').trim())).toMatchObject({
    level: 'warn',
    node: 'n1',
    lost: 49,
    holdMs: 30_000,
    msg: 'lost every other node at once: holding until one is reachable again',
  });
});
