import { describe, expect, it } from 'vitest';
import {
  createDocument,
  defaultDecodeLimits,
  LimitExceededError,
  orset,
  type DecodeLimits,
  type Document,
} from '../../src/index.ts';
import { fingerprint, restore } from './fingerprint.ts';

const limits: DecodeLimits = { ...defaultDecodeLimits, maxEntries: 10 };
const make = (replica: string): Document => createDocument({ replica, name: 'sizes', limits });

/** Each collection filled to maxEntries by `fill(i)`; `more()` is the add past it. */
const cases: {
  name: string;
  view: (d: Document) => unknown;
  fill: (d: Document, i: number) => void;
  more: (d: Document) => void;
}[] = [
  {
    name: 'ORSet',
    view: (d) => d.orset('s').values(),
    fill: (d, i) => d.orset('s').add(i),
    more: (d) => d.orset('s').add(99),
  },
  {
    name: 'ORMap',
    view: (d) => d.ormap('m', orset()).keys(),
    fill: (d, i) => d.ormap('m', orset()).get(`k${i}`).add(1),
    more: (d) => d.ormap('m', orset()).get('k99').add(1),
  },
  {
    name: 'ORMap value',
    view: (d) => d.ormap('m', orset()).get('k').values(),
    fill: (d, i) => d.ormap('m', orset()).get('k').add(i),
    more: (d) => d.ormap('m', orset()).get('k').add(99),
  },
  {
    name: 'Graph vertices',
    view: (d) => d.graph('g').vertices(),
    fill: (d, i) => d.graph('g').addVertex(`v${i}`),
    more: (d) => d.graph('g').addVertex('v99'),
  },
  {
    name: 'Graph edges',
    view: (d) => d.graph('g').edges(),
    fill: (d, i) => {
      d.graph('g').addVertex(`v${i}`);
      d.graph('g').addEdge('v0', `v${i}`);
    },
    more: (d) => d.graph('g').addEdge('v1', 'v2'),
  },
  {
    // The presence marker is one entry of the item's attribute map.
    name: 'Graph attributes',
    view: (d) => d.graph('g').vertices(),
    fill: (d, i) => (i === 0 ? d.graph('g').addVertex('v') : d.graph('g').setVertexAttr('v', `a${i}`, i)),
    more: (d) => d.graph('g').setVertexAttr('v', 'a99', 1),
  },
  {
    name: 'TimeSeries series',
    view: (d) => d.timeSeries('t').series(),
    fill: (d, i) => d.timeSeries('t').append(`s${i}`, i, 1000 + i),
    more: (d) => d.timeSeries('t').append('s99', 1, 2000),
  },
  {
    name: 'TimeSeries points',
    view: (d) => d.timeSeries('t').range('s', 0, 5000),
    fill: (d, i) => d.timeSeries('t').append('s', i, 1000 + i),
    more: (d) => d.timeSeries('t').append('s', 1, 2000),
  },
];

describe('collections within maxEntries', () => {
  for (const c of cases) {
    it(`refuses the ${c.name} add past maxEntries; the state at the limit reaches peers`, () => {
      const a = make('a');
      for (let i = 0; i < limits.maxEntries; i++) c.fill(a, i);
      const check = fingerprint(a);
      let error: unknown;
      try {
        c.more(a);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(LimitExceededError);
      expect((error as LimitExceededError).limit).toBe('maxEntries');
      check();
      // The snapshot at the limit decodes on a fresh replica with the same limits.
      const b = restore(a, () => make('b'));
      expect(c.view(b)).toEqual(c.view(a));
    });
  }

  it('refuses a bounded-counter transfer to one recipient too many', () => {
    const a = make('a');
    a.boundedCounter('c').increment(100);
    for (let i = 0; i < limits.maxEntries - 1; i++) a.boundedCounter('c').transfer(`r${i}`, 1);
    const check = fingerprint(a);
    expect(() => a.boundedCounter('c').transfer('r99', 1)).toThrow(LimitExceededError);
    check();
    const b = restore(a, () => make('b'));
    expect(b.boundedCounter('c').value).toBe(a.boundedCounter('c').value);
  });
});
