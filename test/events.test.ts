import {
  createCoordinator,
  createDocumentStore,
  createMemoryStore,
  systemClock,
  type CoordinatorEvents,
  type MemoryStoreEvents,
  type StoreEvents,
} from '@meshwork/coordinator';
import {
  createDocument,
  type DocumentEvents,
  createMembership,
  type EventMap,
  type Membership,
  type Observable,
  type PresenceEvents,
} from '@meshwork/core';
import type { SharedMemoryEvents } from '@meshwork/node';
import { createSharedMemory, openStore } from '@meshwork/node/internal';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../packages/node/src/logger.ts';
import { tempDir } from '../packages/node/test/support/processes.ts';
import { quietPresence } from '../packages/node/test/support/quiet-presence.ts';
import { createScheduler } from './sim/scheduler.ts';
import { createMeshMetrics, type MeshMetricsEvents } from '../packages/transport/src/metrics.ts';

/** One event of one emitting object, with a call that makes it emit once, synchronously. */
interface Subject {
  on(listener: () => void): void;
  once(listener: () => void): void;
  off(listener: () => void): void;
  /** Emits once: at once for the emitters that veto, by the time it resolves for the others. */
  trigger(): void | Promise<void>;
}

function subject<E extends EventMap<E>>(
  target: Observable<E>,
  name: keyof E & string,
  trigger: () => void | Promise<void>,
): Subject {
  return {
    on: (listener) => void target.on(name, listener as E[typeof name]),
    once: (listener) => target.once(name, listener as E[typeof name]),
    off: (listener) => target.off(name, listener as E[typeof name]),
    trigger,
  };
}

const closers: (() => unknown)[] = [];

let n = 0;
const fresh = (): string => `k${++n}`;

/**
 * Every public object that emits, by how it treats a listener that throws: `isolates` hands the
 * error aside and still tells the other listeners; otherwise the error reaches the call that
 * caused the event (see Emitter in @meshwork/core).
 */
const cases: { name: string; isolates: boolean; open: () => Subject | Promise<Subject> }[] = [
  {
    name: "Document 'change'",
    isolates: false,
    open: () => {
      const doc = createDocument({ replica: 'a', name: 'doc' });
      return subject<DocumentEvents>(doc, 'change', () => doc.orset<string>('s').add(fresh()));
    },
  },
  {
    name: "memory store 'change'",
    isolates: false,
    open: () => {
      const store = createMemoryStore('a', systemClock);
      return subject<StoreEvents>(store, 'change', () =>
        store.write([{ kind: 'task', key: fresh(), value: 1 }]),
      );
    },
  },
  {
    name: "memory store 'delta'",
    isolates: false,
    open: () => {
      const store = createMemoryStore('a', systemClock);
      return subject<MemoryStoreEvents>(store, 'delta', () =>
        store.write([{ kind: 'task', key: fresh(), value: 1 }]),
      );
    },
  },
  {
    name: "Document store 'change'",
    isolates: false,
    open: () => {
      const store = createDocumentStore(createDocument({ replica: 'a', name: 'doc' }));
      return subject<StoreEvents>(store, 'change', () =>
        store.write([{ kind: 'task', key: fresh(), value: 1 }]),
      );
    },
  },
  {
    name: "Coordinator 'submit'",
    isolates: false,
    open: () => {
      const coordinator = createCoordinator({
        store: createMemoryStore('a', systemClock),
        presence: quietPresence,
      });
      closers.push(() => coordinator.stop({ drainMs: 0 }));
      return subject<CoordinatorEvents>(
        coordinator.events,
        'submit',
        () => void coordinator.submit({ type: 'job' }),
      );
    },
  },
  {
    name: "mesh metrics 'event'",
    isolates: true,
    open: () => {
      const metrics = createMeshMetrics();
      return subject<MeshMetricsEvents>(metrics, 'event', () =>
        metrics.record({ type: 'deferred', document: 'doc', bytes: 1 }),
      );
    },
  },
  {
    name: "membership 'presence'",
    isolates: true,
    open: async () => {
      // Two nodes over a virtual link: what a hears of b's state.
      const sched = createScheduler();
      const time = sched.nodeClock(0);
      const nodes = new Map<string, Membership>();
      for (const self of ['a', 'b']) {
        const send = (peer: string, frame: Uint8Array): void =>
          void time.setTimer(() => nodes.get(peer)?.receive(self, frame), 2);
        nodes.set(self, createMembership({ self, timers: time, links: { send } }));
      }
      const [a, b] = [nodes.get('a')!, nodes.get('b')!];
      a.linkUp('b');
      b.linkUp('a');
      await sched.run(sched.now() + 2_000);
      closers.push(() => {
        a.stop();
        b.stop();
      });
      return subject<PresenceEvents>(a, 'presence', async () => {
        b.publish({ v: fresh() });
        await sched.run(sched.now() + 200);
      });
    },
  },
  {
    name: "shared memory 'change'",
    isolates: true,
    open: () => {
      const store = openStore(tempDir('events'));
      const memory = createSharedMemory({
        replica: 'a',
        store,
        // Syncing is not what is tested here: nothing is attached to a mesh.
        mesh: { attach: () => undefined, detach: () => undefined },
        limits: { maxDocuments: 10, maxMembers: 10 },
        compactAfterEvents: 1000,
        onWriteError: () => undefined,
        logger: createLogger({ level: 'silent', name: 'events-test' }),
      });
      closers.push(() => {
        memory.close();
        store.close();
      });
      // Its first write would tell of the new document, then of the write.
      memory.create('notes');
      return subject<SharedMemoryEvents>(
        memory,
        'change',
        () => void memory.write('notes', 's', { type: 'orset', op: 'add', values: [fresh()] }),
      );
    },
  },
];

describe('one way to subscribe', () => {
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
  });

  it.each(cases)('$name: on, once and off', async ({ open }) => {
    const s = await open();
    let always = 0;
    let once = 0;
    const listener = (): void => void always++;
    s.on(listener);
    s.once(() => once++);
    await s.trigger();
    await s.trigger();
    expect([always, once]).toEqual([2, 1]);
    // A listener added twice is registered once.
    s.on(listener);
    await s.trigger();
    expect(always).toBe(3);
    s.off(listener);
    await s.trigger();
    expect([always, once]).toEqual([3, 1]);
  });

  it.each(cases)(
    '$name: a throwing listener breaks neither the emitter nor the others',
    async ({ open, isolates }) => {
      const s = await open();
      let failing = true;
      let thrower = 0;
      let other = 0;
      s.on(() => {
        thrower++;
        if (failing) throw new Error('listener failed');
      });
      s.on(() => void other++);
      if (isolates) {
        await s.trigger();
        // The other listener heard the event the first one threw on.
        expect(other).toBe(1);
      } else {
        expect(() => s.trigger()).toThrow('listener failed');
        // The emit ended there: the later listener did not hear that event.
        expect(other).toBe(0);
      }
      failing = false;
      await s.trigger();
      // Both stayed registered, and the next event reached both.
      expect(thrower).toBe(2);
      expect(other).toBe(isolates ? 2 : 1);
    },
  );
});
