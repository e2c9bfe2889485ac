import { describe, expect, it } from 'vitest';
import { Emitter } from '../../src/index.ts';

interface Events {
  tick: (n: number) => void;
  tock: () => void;
}

describe('Emitter', () => {
  it('hands a listener error to onListenerError with the event name, and tells the rest', () => {
    const errors: [unknown, string][] = [];
    const e = new Emitter<Events>({ onListenerError: (error, event) => errors.push([error, event]) });
    const heard: number[] = [];
    const boom = new Error('boom');
    e.on('tick', () => {
      throw boom;
    });
    e.on('tick', (n) => heard.push(n));
    e.emit('tick', [1]);
    expect(heard).toEqual([1]);
    expect(errors).toEqual([[boom, 'tick']]);
  });

  it('a listener added during an emit hears the next event; one removed during it still hears that one', () => {
    const e = new Emitter<Events>();
    const heard: string[] = [];
    const late = (n: number): void => void heard.push(`late ${n}`);
    const removed = (n: number): void => void heard.push(`removed ${n}`);
    e.on('tick', (n) => {
      heard.push(`first ${n}`);
      e.on('tick', late);
      e.off('tick', removed);
    });
    e.on('tick', removed);
    e.emit('tick', [1]);
    e.emit('tick', [2]);
    expect(heard).toEqual(['first 1', 'removed 1', 'first 2', 'late 2']);
  });

  it('tells `observed` of its first listener and its last, across events', () => {
    const seen: boolean[] = [];
    const e = new Emitter<Events>({ observed: (observed) => seen.push(observed) });
    const tick = (): void => undefined;
    const tock = (): void => undefined;
    e.on('tick', tick);
    e.on('tock', tock);
    e.off('tick', tick);
    expect(seen).toEqual([true]);
    e.off('tock', tock);
    expect(seen).toEqual([true, false]);
    e.once('tick', tick);
    e.emit('tick', [1]);
    expect(seen).toEqual([true, false, true, false]);
    expect(e.listens('tick')).toBe(false);
  });
});
