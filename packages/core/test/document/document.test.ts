import { describe, expect, it } from 'vitest';
import {
  createDocument,
  DecodeError,
  decodeDigest,
  DocumentArgumentError,
  encodeDigest,
  lww,
  MemberTypeError,
  mergeUpdates,
  updateOrigins,
  type ChangeEvent,
  type Value,
} from '../../src/index.ts';

const doc = (replica: string, extra: Parameters<typeof createDocument>[0]['log'] = undefined) =>
  createDocument({ replica, name: 'tasks', ...(extra !== undefined && { log: extra }) });

function recorder(d: ReturnType<typeof doc>): ChangeEvent[] {
  const events: ChangeEvent[] = [];
  d.on('change', (e) => events.push(e));
  return events;
}

describe('local transactions', () => {
  it('make one event per transaction and one per mutation outside a transaction', () => {
    const a = doc('a');
    const changes = recorder(a);
    const set = a.orset<string>('agents');
    a.transact(() => {
      set.add('x');
      set.add('y');
      a.ormap('tasks', lww()).get('t1').set({ title: 'write' });
    }, 'ui');
    set.remove('x');
    expect(changes.map((c) => c.dots)).toEqual([[{ replica: 'a', seq: 1 }], [{ replica: 'a', seq: 2 }]]);
    expect(changes[0]!.origin).toBe('ui');
    expect(changes[0]!.members).toEqual(['agents', 'tasks']);
    expect(changes.every((c) => c.local && !c.snapshot)).toBe(true);
    expect(a.digest().size).toBe(2);
  });

  it('nests transactions into the outer one and keeps mutations made before a throw', () => {
    const a = doc('a');
    const changes = recorder(a);
    expect(() =>
      a.transact(() => {
        a.pncounter('n').increment(2);
        a.transact(() => a.pncounter('n').increment(3));
        throw new Error('stop');
      }),
    ).toThrow('stop');
    expect(changes).toHaveLength(1);
    const b = doc('b');
    b.apply(changes[0]!.update);
    expect(b.pncounter('n').value).toBe(5);
  });

  it('refuses a name already used by another type', () => {
    const a = doc('a');
    a.orset('x');
    expect(() => a.lww('x')).toThrow(MemberTypeError);
    expect(() => a.orset('')).toThrow(DocumentArgumentError);
    expect(() => a.member('y', { kind: 'nope' } as never)).toThrow(DocumentArgumentError);
    expect(() => a.member('y', { kind: 'ormap', value: { kind: 'ydoc' } } as never)).toThrow(
      DocumentArgumentError,
    );
    expect(() => createDocument({ replica: '', name: 'n' })).toThrow(DocumentArgumentError);
  });

  it('name the ORMap keys each event wrote or removed, locally and on every replica that merges it', () => {
    const a = doc('a');
    const b = doc('b');
    const local = recorder(a);
    const remote = recorder(b);
    const tasks = a.ormap('tasks', lww());
    a.transact(() => {
      tasks.get('t1').set(1);
      tasks.get('t2').set(2);
      a.orset('s').add('x');
    });
    tasks.delete('t1');
    tasks.delete('absent');
    for (const e of local) b.apply(e.update);
    const keysOf = (events: ChangeEvent[]) =>
      events.map((e) => Object.fromEntries([...e.keys].map(([m, k]) => [m, [...k].sort()])));
    expect(keysOf(local)).toEqual([{ tasks: ['t1', 't2'] }, { tasks: ['t1'] }]);
    expect(keysOf(remote)).toEqual(keysOf(local));
    // A duplicate changes nothing and reports nothing; a snapshot may change any key, so it lists none.
    b.apply(local[0]!.update);
    expect(remote).toHaveLength(2);
    const c = doc('c');
    const fromSnapshot = recorder(c);
    for (const chunk of b.snapshot()) c.apply(chunk);
    expect(fromSnapshot.map((e) => [e.snapshot, e.keys.size])).toEqual([[true, 0]]);
    expect(c.ormap('tasks', lww()).keys()).toEqual(['t2']);
  });

  it('remove many ORMap keys as one delta, keeping a concurrent update', () => {
    const a = doc('a');
    const b = doc('b');
    const sent = recorder(a);
    const tasks = a.ormap('tasks', lww());
    a.transact(() => {
      for (const k of ['t1', 't2', 't3']) tasks.get(k).set(k);
    });
    b.apply(sent[0]!.update);
    b.ormap('tasks', lww()).get('t2').set('b wrote this concurrently');
    tasks.deleteAll(['t1', 't2', 'absent']);
    tasks.deleteAll(['absent']);
    expect(sent).toHaveLength(2);
    expect([...sent[1]!.keys.get('tasks')!].sort()).toEqual(['t1', 't2']);
    b.apply(sent[1]!.update);
    expect(b.ormap('tasks', lww()).keys()).toEqual(['t2', 't3']);
    expect(b.ormap('tasks', lww()).get('t2').get()).toBe('b wrote this concurrently');
    expect(tasks.keys()).toEqual(['t3']);
  });

  it('calls listeners synchronously in registration order, queueing changes made by listeners', () => {
    const a = doc('a');
    const seen: string[] = [];
    a.on('change', (e) => {
      seen.push(`first:${e.dots[0]!.seq}`);
      if (e.dots[0]!.seq === 1) a.pncounter('n').increment();
    });
    a.on('change', (e) => seen.push(`second:${e.dots[0]!.seq}`));
    a.pncounter('n').increment();
    expect(seen).toEqual(['first:1', 'second:1', 'first:2', 'second:2']);
    const off = (): void => undefined;
    a.on('change', off);
    a.off('change', off);
  });
});

describe('apply', () => {
  it('reports new events, duplicates and changed members, and advances the clock', () => {
    let now = 1000;
    const a = createDocument({ replica: 'a', name: 'd', clock: () => now });
    const updates = recorder(a);
    a.orset('s').add(1);
    a.lww('r').set('v');
    now = 500; // b's physical clock is behind a's.
    const b = createDocument({ replica: 'b', name: 'd', clock: () => now });
    expect(b.apply(updates[0]!.update)).toEqual({ events: 1, duplicates: 0, members: ['s'] });
    expect(b.apply(mergeUpdates(updates.map((u) => u.update)))).toEqual({
      events: 1,
      duplicates: 1,
      members: ['r'],
    });
    expect(b.apply(updates[1]!.update)).toEqual({ events: 0, duplicates: 1, members: [] });
    expect(b.hlc.now().wall).toBeGreaterThanOrEqual(1000);
    expect(() => b.apply(encodeDigest(b.digest()))).toThrow(DecodeError);
  });

  it('merges an event whose clock runs too far ahead, without following that clock', () => {
    let now = 10_000_000;
    const a = createDocument({ replica: 'a', name: 'd', clock: () => now });
    const updates = recorder(a);
    a.orset('s').add(1);
    now = 10_000_000 - 3_600_000; // b's clock is an hour behind, beyond the default 60 s drift cap
    const b = createDocument({ replica: 'b', name: 'd', clock: () => now });
    expect(b.apply(updates[0]!.update).events).toBe(1);
    expect(b.orset('s').has(1)).toBe(true);
    expect(b.hlc.now().wall).toBe(now);
    expect(() => b.apply('not bytes' as unknown as Uint8Array)).toThrow(DecodeError);
  });

  it('keeps an element removed when the remove arrives before the add it observed', () => {
    const a = doc('a');
    const b = doc('b');
    const fromA = recorder(a);
    const fromB = recorder(b);
    a.orset<string>('s').add('x');
    b.apply(fromA[0]!.update);
    b.orset<string>('s').remove('x');
    const c = doc('c');
    c.apply(fromB.find((e) => e.local)!.update); // the remove first
    expect(c.orset('s').has('x')).toBe(false);
    c.apply(fromA[0]!.update);
    expect(c.orset('s').has('x')).toBe(false);
    expect(c.digest().equals(b.digest())).toBe(true);
  });

  it('merges events across a gap in the sequence and reports the gap in its digest', () => {
    const a = doc('a');
    const updates = recorder(a);
    for (let i = 0; i < 5; i++) a.orset<number>('s').add(i);
    const c = doc('c');
    c.apply(updates[4]!.update);
    c.apply(updates[2]!.update);
    expect(c.orset<number>('s').values().sort()).toEqual([2, 4]);
    const digest = decodeDigest(encodeDigest(c.digest()));
    expect(digest.has('a', 5) && digest.has('a', 3) && !digest.has('a', 4)).toBe(true);
    const changes = a.changesSince(digest);
    expect(changes.covered).toBe(true);
    if (changes.covered) expect(c.apply(changes.update)).toMatchObject({ events: 3, duplicates: 0 });
    expect(c.orset<number>('s').values().sort()).toEqual([0, 1, 2, 3, 4]);
  });

  it('names the origins of an update', () => {
    const a = doc('a');
    const b = doc('b');
    const ua = recorder(a);
    const ub = recorder(b);
    a.gcounter('g').increment();
    b.gcounter('g').increment();
    expect(updateOrigins(mergeUpdates([ua[0]!.update, ub[0]!.update]))).toEqual(new Set(['a', 'b']));
  });

  it('with onlyFrom, refuses (code origin, changing nothing) an update holding an event of another replica', () => {
    const a = doc('a');
    const b = doc('b');
    const ua = recorder(a);
    const ub = recorder(b);
    a.gcounter('g').increment();
    b.gcounter('g').increment(5);
    const mixed = mergeUpdates([ua[0]!.update, ub[0]!.update]);
    const c = doc('c');
    expect(() => c.apply(mixed, undefined, { onlyFrom: 'a' })).toThrow(
      expect.objectContaining({ name: 'DecodeError', code: 'origin' }),
    );
    expect(c.digest().size).toBe(0);
    expect(() => c.apply(a.snapshot()[0]!, undefined, { onlyFrom: 'a' })).toThrow(DecodeError);
    expect(c.apply(ua[0]!.update, undefined, { onlyFrom: 'a' }).events).toBe(1);
    expect(c.gcounter('g').value).toBe(1);
  });

  it('rejects a message that redefines a known member as another type, changing nothing', () => {
    const a = doc('a');
    const updates = recorder(a);
    a.orset('x').add(1);
    const b = doc('b');
    b.lww('x').set(2);
    expect(() => b.apply(updates[0]!.update)).toThrow(DecodeError);
    expect(b.lww('x').get()).toBe(2);
  });
});

describe('anti-entropy', () => {
  it('answers from the log while it covers the gap, and says not covered once truncated', () => {
    const a = doc('a', { maxEvents: 3 });
    const s = a.orset<number>('s');
    for (let i = 0; i < 5; i++) s.add(i);
    const b = doc('b');
    expect(a.changesSince(b.digest())).toEqual({ covered: false });
    for (const chunk of a.snapshot({ maxChunkBytes: 100 })) b.apply(chunk);
    expect(b.orset<number>('s').size).toBe(5);
    s.add(5);
    const changes = a.changesSince(b.digest());
    expect(changes.covered).toBe(true);
    if (changes.covered) expect(b.apply(changes.update).events).toBe(1);
    // b learnt a's older events from a snapshot, so its own log cannot serve them.
    expect(b.changesSince(doc('c').digest())).toEqual({ covered: false });
  });

  it('bounds the log by bytes as well as events', () => {
    const a = doc('a', { maxEvents: 1000, maxBytes: 200 });
    for (let i = 0; i < 50; i++) a.orset<string>('s').add(`a fairly long element ${i}`);
    const b = doc('b');
    expect(a.changesSince(b.digest())).toEqual({ covered: false });
    // A peer missing only the newest events is still served from the log.
    const c = doc('c');
    for (const chunk of a.snapshot()) c.apply(chunk);
    a.orset<string>('s').add('one more');
    const changes = a.changesSince(c.digest());
    expect(changes.covered).toBe(true);
  });

  it('shows a chunked snapshot only once every chunk arrived, in any order', () => {
    const a = doc('a');
    const s = a.orset<string>('s');
    for (let i = 0; i < 40; i++) s.add(`element-${i}`);
    const chunks = a.snapshot({ maxChunkBytes: 120 });
    expect(chunks.length).toBeGreaterThan(3);
    const b = doc('b');
    const changes = recorder(b);
    const order = [...chunks.keys()].reverse();
    for (const [n, i] of order.entries()) {
      const result = b.apply(chunks[i]!);
      const last = n === order.length - 1;
      expect(result.snapshotComplete).toBe(last);
      expect(b.orset('s').size).toBe(last ? 40 : 0);
      expect(b.digest().size).toBe(last ? 40 : 0);
    }
    expect(changes).toHaveLength(1);
    expect(changes[0]!.snapshot).toBe(true);
    // The change event carries the snapshot as one message, which restores the state elsewhere.
    const c = doc('c');
    expect(c.apply(changes[0]!.update)).toMatchObject({ snapshotComplete: true, events: 40 });
    expect(c.orset('s').size).toBe(40);
    expect(() => a.snapshot({ maxChunkBytes: 10 })).toThrow(DocumentArgumentError);
  });

  it('assembles a bounded number of snapshots at once, dropping the oldest partial one', () => {
    const sources = Array.from({ length: 5 }, (_, i) => {
      const d = doc(`s${i}`);
      for (let k = 0; k < 10; k++) d.orset<number>('s').add(i * 100 + k);
      return d.snapshot({ maxChunkBytes: 80 });
    });
    const b = doc('b');
    // The first chunk of every snapshot: the first snapshot's partial state is dropped to make room.
    for (const chunks of sources) b.apply(chunks[0]!);
    for (const chunks of sources.slice(1)) for (const chunk of chunks.slice(1)) b.apply(chunk);
    expect(b.orset('s').size).toBe(40);
    // Its first chunk is gone, so the rest alone does not complete it.
    for (const chunk of sources[0]!.slice(1)) b.apply(chunk);
    expect(b.orset('s').size).toBe(40);
    expect(b.apply(sources[0]![0]!).snapshotComplete).toBe(true);
    expect(b.orset('s').size).toBe(50);
  });

  it('rejects a chunk set that does not assemble to the snapshot it names', () => {
    const a = doc('a');
    for (let i = 0; i < 20; i++) a.orset<number>('s').add(i);
    const chunks = a.snapshot({ maxChunkBytes: 80 });
    const bad = Uint8Array.from(chunks[1]!);
    bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 0xff;
    const b = doc('b');
    for (const chunk of [chunks[0]!, ...chunks.slice(2)]) b.apply(chunk);
    expect(() => b.apply(bad)).toThrow(DecodeError);
    expect(b.orset('s').size).toBe(0);
  });
});

describe('values merged from another replica', () => {
  it('are objects without a prototype, where a key such as __proto__ is an own property', () => {
    const a = doc('a');
    const b = doc('b');
    const updates: Uint8Array[] = [];
    a.on('change', (e) => updates.push(e.update));
    a.ormap('tasks', lww())
      .get('t1')
      .set(JSON.parse('{"__proto__":{"polluted":true},"constructor":1,"n":2}') as Value);
    for (const u of updates) b.apply(u);
    const v = b.ormap('tasks', lww()).get('t1').get() as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBeNull();
    expect(Object.keys(v).sort()).toEqual(['__proto__', 'constructor', 'n']);
    expect(v['__proto__']).toEqual({ polluted: true });
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});

describe('encoded digests', () => {
  it('follow every change, local, merged or from a snapshot, and answer changesSince as decoded ones do', () => {
    const a = doc('a');
    const b = doc('b');
    const c = doc('c');
    const updates: Uint8Array[] = [];
    a.on('change', (e) => updates.push(e.update));
    const same = (d: ReturnType<typeof doc>): void =>
      expect(d.encodedDigest()).toEqual(encodeDigest(d.digest()));
    same(a);
    const behind = a.encodedDigest();
    a.orset<string>('agents').add('x');
    same(a);
    b.orset<string>('agents').add('y');
    for (const u of updates) b.apply(u);
    same(b);
    for (const chunk of b.snapshot()) c.apply(chunk);
    same(c);
    expect(b.changesSince(behind)).toEqual(b.changesSince(decodeDigest(behind)));
    expect(b.changesSince(c.encodedDigest())).toEqual(b.changesSince(c.digest()));
    const inSync = b.changesSince(c.encodedDigest());
    expect(inSync.covered && b.apply(inSync.update).events).toBe(0);
    expect(() => b.changesSince(Uint8Array.of(1, 2, 3))).toThrow(DecodeError);
  });
});
