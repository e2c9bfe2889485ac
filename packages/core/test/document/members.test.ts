import { describe, expect, it } from 'vitest';
import { createDocument, lww, orset, type Document } from '../../src/index.ts';

/** Every kind of member, mutated on `doc`. */
function mutateAll(doc: Document): void {
  doc.transact(() => {
    doc.orset<string>('set').add('x');
    doc.lww<number>('reg').set(7);
    doc.mvregister<string>('mv').set('m');
    doc.gcounter('g').increment(2);
    doc.pncounter('pn').decrement(3);
    doc.boundedCounter('pool').increment(5);
    doc.ormap('map', lww<string>()).get('k').set('v');
    doc.ormap('nested', orset<string>()).get('k').add('y');
    doc.graph('g2').addVertex('a');
    doc.graph('g2').addVertex('b');
    doc.graph('g2').addEdge('a', 'b', 'dep');
    doc.timeSeries('ts').append('load', 0.5, 1000);
    doc.ydoc('notes').doc.getText('t').insert(0, 'hello');
  });
}

function observe(doc: Document): unknown {
  return {
    set: doc.orset('set').values(),
    reg: doc.lww('reg').get(),
    mv: doc.mvregister('mv').values(),
    g: doc.gcounter('g').value,
    pn: doc.pncounter('pn').value,
    pool: doc.boundedCounter('pool').value,
    map: doc.ormap('map', lww<string>()).get('k').get(),
    nested: doc.ormap('nested', orset<string>()).get('k').values(),
    edges: doc.graph('g2').edges().length,
    ts: doc.timeSeries('ts').range('load', 0, 2000).length,
    notes: doc.ydoc('notes').doc.getText('t').toJSON(),
  };
}

describe('every member type through a Document', () => {
  it('replicates by update message and by snapshot', () => {
    const a = createDocument({ replica: 'a', name: 'all' });
    const updates: Uint8Array[] = [];
    a.on('change', (e) => updates.push(e.update));
    mutateAll(a);
    expect(updates).toHaveLength(1);
    const byUpdate = createDocument({ replica: 'b', name: 'all' });
    byUpdate.apply(updates[0]!);
    const bySnapshot = createDocument({ replica: 'c', name: 'all' });
    for (const chunk of a.snapshot({ maxChunkBytes: 128 })) bySnapshot.apply(chunk);
    const expected = observe(a);
    expect(expected).toMatchObject({
      set: ['x'],
      reg: 7,
      g: 2,
      pn: -3,
      pool: 5,
      notes: 'hello',
      edges: 1,
      ts: 1,
    });
    expect(observe(byUpdate)).toEqual(expected);
    expect(observe(bySnapshot)).toEqual(expected);
    expect(byUpdate.memberNames()).toEqual(a.memberNames());
  });
});
