import { describe, expect, it } from 'vitest';
import { Writer } from '../../src/codec/writer.ts';
import { readMemberType } from '../../src/document/member-type.ts';
import { LEGACY_VERSION, MessageKind } from '../../src/document/messages.ts';
import { decodeUpdate, endEvent, MemberTable, writeEventStart } from '../../src/document/update.ts';
import {
  createDocument,
  DecodeError,
  lww,
  mergeUpdates,
  type ChangeEvent,
  type Document,
} from '../../src/index.ts';

function writer(replica: string): { doc: Document; updates: Uint8Array[] } {
  const doc = createDocument({ replica, name: 'd' });
  const updates: Uint8Array[] = [];
  doc.on('change', (e: ChangeEvent) => updates.push(e.update));
  return { doc, updates };
}

const tasks = (d: Document) => d.ormap('tasks', lww());

const state = (d: Document): unknown => ({
  tasks: Object.fromEntries([...tasks(d).keys()].map((k) => [k, tasks(d).get(k).get()])),
  seen: [...d.orset<string>('seen').values()].sort(),
});

/** Events of two replicas, each in its own single-event update, touching the same members. */
function history(): { a: ReturnType<typeof writer>; b: ReturnType<typeof writer> } {
  const a = writer('replica-a');
  const b = writer('replica-b');
  for (let i = 0; i < 3; i++) {
    a.doc.transact(() => {
      tasks(a.doc).get(`a${i}`).set({ n: i });
      a.doc.orset<string>('seen').add(`a${i}`);
    });
    tasks(b.doc)
      .get(`b${i}`)
      .set({ n: 10 + i });
  }
  return { a, b };
}

function occurrences(bytes: Uint8Array, text: string): number {
  const needle = new TextEncoder().encode(text);
  let n = 0;
  for (let i = 0; i + needle.length <= bytes.length; i++) if (needle.every((b, j) => bytes[i + j] === b)) n++;
  return n;
}

const everything = {
  tasks: { a0: { n: 0 }, a1: { n: 1 }, a2: { n: 2 }, b0: { n: 10 }, b1: { n: 11 }, b2: { n: 12 } },
  seen: ['a0', 'a1', 'a2'],
};

describe('update messages of several events', () => {
  it('are relayed and served from the log record for record, as their writers encoded them', () => {
    const { a, b } = history();
    const merged = mergeUpdates([...a.updates, ...b.updates, a.updates[0]!]);
    // Each replica is named once in the message, however many of its events it holds.
    for (const id of ['replica-a', 'replica-b']) expect(occurrences(merged, id)).toBe(1);
    const c = createDocument({ replica: 'replica-c', name: 'd' });
    expect(c.apply(merged)).toMatchObject({ events: 6, duplicates: 0 });
    // c never saw a's second event on its own, yet serves exactly the bytes a wrote for it.
    const d = createDocument({ replica: 'replica-d', name: 'd' });
    d.apply(a.updates[0]!);
    d.apply(a.updates[2]!);
    for (const u of b.updates) d.apply(u);
    const missing = c.changesSince(d.digest());
    expect(missing.covered && missing.update).toEqual(a.updates[1]);
    const e = createDocument({ replica: 'replica-e', name: 'd' });
    const all = c.changesSince(e.digest());
    expect(all.covered).toBe(true);
    if (all.covered) e.apply(all.update);
    expect(state(e)).toEqual(state(c));
    expect(state(c)).toEqual(everything);
  });

  it('still decode in the legacy form, whose tables span the whole message', () => {
    const { a, b } = history();
    const events = [...a.updates, ...b.updates].flatMap((u) => decodeUpdate(u, readMemberType).events);
    const w = new Writer();
    w.byte(LEGACY_VERSION);
    w.byte(MessageKind.Update);
    w.uint(events.length);
    const members = new MemberTable();
    for (const e of events) {
      writeEventStart(w, e.replica, e.seq, e.wall, e.logical);
      for (const delta of e.deltas) {
        members.write(w, delta.name, delta.type);
        delta.type.crdt.encode(w, delta.delta);
      }
      endEvent(w);
    }
    const legacy = w.finish();
    // Interning across events makes the legacy form smaller: this really is the other layout.
    expect(legacy.byteLength).toBeLessThan(mergeUpdates([...a.updates, ...b.updates]).byteLength);
    const c = createDocument({ replica: 'replica-c', name: 'd' });
    expect(c.apply(legacy)).toMatchObject({ events: 6, duplicates: 0 });
    const e = createDocument({ replica: 'replica-e', name: 'd' });
    const all = c.changesSince(e.digest());
    if (all.covered) e.apply(all.update);
    expect(state(e)).toEqual(state(c));
    expect(state(c)).toEqual(everything);
    legacy[0] = 3;
    expect(() => c.apply(legacy)).toThrow(DecodeError);
  });
});
