import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import { createDocument, DecodeError, defaultDecodeLimits, ydoc } from '../../src/index.ts';
import { MessageKind, Writer } from '../../src/internal.ts';
import { memberType, type MemberType } from '../../src/document/member-type.ts';
import { writeHeader } from '../../src/document/messages.ts';
import { endEvent, MemberTable, writeEventStart } from '../../src/document/update.ts';
import { checkYjsUpdate } from '../../src/types/yjs-update.ts';
import { fingerprint } from './fingerprint.ts';

const hex = (s: string): Uint8Array => Uint8Array.from(s.match(/../g) ?? [], (b) => parseInt(b, 16));

/** An update message with one event of `replica` whose only delta is `yjsUpdate` for member `notes`. */
function ydocEvent(replica: string, seq: number, yjsUpdate: Uint8Array): Uint8Array {
  const w = new Writer();
  writeHeader(w, MessageKind.Update);
  w.uint(1);
  writeEventStart(w, replica, seq, 1, 0);
  new MemberTable().write(w, 'notes', memberType(ydoc()) as MemberType);
  w.bytes(yjsUpdate);
  endEvent(w);
  return w.finish();
}

/** A Yjs update built by hand with lib0, as a hostile peer would. */
function yjsBytes(build: (e: encoding.Encoder) => void): Uint8Array {
  const e = encoding.createEncoder();
  build(e);
  return encoding.toUint8Array(e);
}

describe('YDoc members under hostile Yjs updates', () => {
  it('refuse an update that decodes on an empty document but breaks Yjs on the current one', () => {
    // The honest writer's Yjs client is 1: the corrupted update below refers to its items.
    const honest = createDocument({ replica: 'honest', name: 'n' });
    honest.ydoc('notes').doc.clientID = 1;
    const victim = createDocument({ replica: 'victim', name: 'n' });
    honest.on('change', (e) => victim.apply(e.update));
    const text = honest.ydoc('notes').doc.getText('t');
    text.insert(0, 'hello');
    honest.ydoc('notes').doc.getArray('a').push([1, 2]);
    honest.ydoc('notes').doc.getMap('m').set('k', 'v');
    // An edit of client 2 with its origin rewritten to a client-2 item: Yjs throws a TypeError
    // half-way through integrating it, but only against this content.
    const corrupt = hex('01010200c40201010202585900');
    expect(() => Y.applyUpdate(new Y.Doc(), corrupt)).not.toThrow();
    const check = fingerprint(victim);
    const error = (() => {
      try {
        victim.apply(ydocEvent('evil', 1, corrupt));
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(DecodeError);
    check();
    // The member still merges honest edits afterwards.
    text.insert(5, ', world');
    expect(victim.ydoc('notes').doc.getText('t').toJSON()).toBe('hello, world');
    expect(victim.ydoc('notes').doc.getArray('a').toArray()).toEqual([1, 2]);
  });

  it('refuses an item referring to its own client at or after its clock', () => {
    // Found by the YDoc property test: a one-byte change turned an origin into the item's own id.
    // Yjs throws a TypeError integrating it, so it must not decode at all.
    const selfOrigin = hex(
      '0103a287f3830c002801016d026b32017d002101016d026b3101a8a287f3830c02017d0001a287f3830c010101',
    );
    expect(() => Y.applyUpdate(new Y.Doc(), selfOrigin)).toThrow(TypeError);
    expect(() => checkYjsUpdate(selfOrigin, defaultDecodeLimits)).toThrow(DecodeError);
  });

  it('refuses a bad item Yjs would defer, so it cannot block the honest update it waits for', () => {
    // Client 5's first item follows an item of client 7 that the victim lacks, so Yjs keeps both
    // of client 5's items pending; the second names itself as origin and throws once integrated.
    const hostile = yjsBytes((e) => {
      encoding.writeVarUint(e, 1);
      encoding.writeVarUint(e, 2);
      encoding.writeVarUint(e, 5); // client
      encoding.writeVarUint(e, 0); // clock
      for (const [client, clock, text] of [
        [7, 0, 'a'],
        [5, 1, 'b'],
      ] as const) {
        encoding.writeUint8(e, 0b1000_0100); // origin, string content
        encoding.writeVarUint(e, client);
        encoding.writeVarUint(e, clock);
        encoding.writeVarString(e, text);
      }
      encoding.writeVarUint(e, 0);
    });
    const victim = createDocument({ replica: 'victim', name: 'n' });
    const check = fingerprint(victim);
    expect(() => victim.apply(ydocEvent('evil', 1, hostile))).toThrow(DecodeError);
    check();
    const honest = createDocument({ replica: 'honest', name: 'n' });
    honest.ydoc('notes').doc.clientID = 7;
    honest.on('change', (e) => victim.apply(e.update));
    honest.ydoc('notes').doc.getText('t').insert(0, 'z');
    expect(victim.ydoc('notes').doc.getText('t').toJSON()).toBe('z');
  });

  it('rejects a tiny frame declaring millions of structs before Yjs decodes it', () => {
    const victim = createDocument({ replica: 'victim', name: 'n' });
    const bomb = yjsBytes((e) => {
      encoding.writeVarUint(e, 1); // one client
      encoding.writeVarUint(e, 2 ** 28); // structs it claims
      encoding.writeVarUint(e, 5); // client
      encoding.writeVarUint(e, 0); // clock
      encoding.writeUint8(e, 0); // a GC struct
      encoding.writeVarUint(e, 1);
    });
    const frame = ydocEvent('evil', 1, bomb);
    expect(frame.byteLength).toBeLessThan(80);
    const check = fingerprint(victim);
    // 'too_large' comes from the structural check: Yjs itself would report a truncated array.
    expect(() => victim.apply(frame)).toThrow(/^too_large: ydoc: struct count of 268435456/);
    check();
  });

  it('walks nested Yjs `any` values without recursion, within the value depth budget', () => {
    const deep = yjsBytes((e) => {
      encoding.writeVarUint(e, 1);
      encoding.writeVarUint(e, 1);
      encoding.writeVarUint(e, 5);
      encoding.writeVarUint(e, 0);
      encoding.writeUint8(e, 8); // item with ContentAny, parent named by key
      encoding.writeVarUint(e, 1);
      encoding.writeVarString(e, 'a');
      encoding.writeVarUint(e, 1); // one any value
      for (let i = 0; i < 200_000; i++) {
        encoding.writeUint8(e, 117); // array
        encoding.writeVarUint(e, 1);
      }
      encoding.writeUint8(e, 126); // null
      encoding.writeVarUint(e, 0); // empty delete set
    });
    expect(() => checkYjsUpdate(deep, defaultDecodeLimits)).toThrow(/^too_deep/);
    const victim = createDocument({ replica: 'victim', name: 'n' });
    expect(() => victim.apply(ydocEvent('evil', 1, deep))).toThrow(/^too_deep/);
  });

  it('accepts every kind of content Yjs writes', () => {
    const doc = new Y.Doc();
    const text = doc.getText('t');
    text.insert(0, 'héllo 😀 world', { bold: true });
    text.insertEmbed(3, { image: 'x.png' });
    text.format(0, 2, { italic: true });
    text.delete(1, 2);
    const arr = doc.getArray<unknown>('a');
    arr.push([1, 2.5, 'x', null, true, { nested: [1, { deep: 'y' }] }, new Uint8Array([1, 2])]);
    arr.push([new Y.Map()]);
    arr.delete(0, 2);
    const map = doc.getMap<unknown>('m');
    map.set('k', 'v');
    map.set('k', 'w');
    map.set('sub', new Y.Doc());
    const xml = doc.getXmlFragment('x');
    const el = new Y.XmlElement('p');
    el.insert(0, [new Y.XmlText('para')]);
    xml.insert(0, [el, new Y.XmlHook('hook') as unknown as Y.XmlElement]);
    const update = Y.encodeStateAsUpdate(doc);
    const shape = checkYjsUpdate(update, defaultDecodeLimits);
    expect(shape.structs).toBeGreaterThan(10);
    expect(shape.deleteRanges).toBeGreaterThan(0);
    // And through a Document, replica to replica.
    const a = createDocument({ replica: 'a', name: 'n' });
    const b = createDocument({ replica: 'b', name: 'n' });
    a.on('change', (e) => b.apply(e.update));
    Y.applyUpdate(a.ydoc('notes').doc, update);
    expect(b.ydoc('notes').doc.getText('t').toDelta()).toEqual(text.toDelta());
  });
});
