import { describe, expect, it } from 'vitest';
import { createEventRing } from '../src/http/event-ring.ts';

const idOf = (frame: string): string => /^id: (.+)$/m.exec(frame)![1]!;

describe('event ring', () => {
  it('replays the frames after an id it still holds, and none for one it does not', () => {
    const ring = createEventRing(3);
    const [a, b, c, d, e] = ['a', 'b', 'c', 'd', 'e'].map((x) => ring.push('task', { x }));
    expect(ring.after(idOf(b!))).toEqual([c, d, e]);
    expect(ring.after(idOf(d!))).toEqual([e]);
    expect(ring.after(ring.position())).toEqual([]);
    // `b` fell out: the frames after `a` are no longer all held.
    expect(ring.after(idOf(a!))).toBeUndefined();
    expect(ring.after(idOf(b!).replace(/^[0-9a-f]+/, '00000000'))).toBeUndefined();
    expect(ring.after('1.999')).toBeUndefined();
  });

  it('resumes no id from before a gap in recording, but the position after it', () => {
    const ring = createEventRing(8);
    const before = ring.push('task', 1);
    ring.gap();
    const position = ring.position();
    const after = ring.push('task', 2);
    expect(ring.after(idOf(before))).toBeUndefined();
    expect(ring.after(position)).toEqual([after]);
  });
});
