import { createCoordinator, createMemoryStore, systemClock } from '@meshwork/coordinator';
import { describe, expect, it } from 'vitest';
import { openStore } from '../src/store.ts';
import { trackTaskHistory } from '../src/task-history.ts';
import { tempDir } from './support/processes.ts';
import { quietPresence } from './support/quiet-presence.ts';

describe('task archive', () => {
  it('drops rows of tasks finished longer ago than archive.keepMs when the node starts tracking', async () => {
    const store = openStore(tempDir('archive'));
    const now = Date.now();
    const row = (task: string, endedAt: number) =>
      store.recordAttempt({
        task,
        attempt: 1,
        agent: 'a',
        epoch: 1,
        startedAt: endedAt - 5,
        endedAt,
        outcome: 'succeeded',
      });
    row('last-week', now - 7 * 86_400_000);
    row('a-minute-ago', now - 60_000);
    store.recordResult({
      task: 'last-week',
      status: 'succeeded',
      result: null,
      error: null,
      finishedAt: now - 7 * 86_400_000,
    });
    const records = createMemoryStore('n', systemClock);
    const coordinator = createCoordinator({ store: records, presence: quietPresence });
    const history = trackTaskHistory(coordinator, records, store, { keepMs: 86_400_000 });
    expect(store.attempts().map((a) => a.task)).toEqual(['a-minute-ago']);
    expect(store.result('last-week')).toBeUndefined();
    history.stop();
    await coordinator.stop({ drainMs: 0 });

    // keepMs 0 keeps everything.
    row('ancient', 1);
    const again = trackTaskHistory(coordinator, records, store, { keepMs: 0 });
    expect(
      store
        .attempts()
        .map((a) => a.task)
        .sort(),
    ).toEqual(['a-minute-ago', 'ancient']);
    again.stop();
    store.close();
  });
});
