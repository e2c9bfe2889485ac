import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMeshShape } from '../src/mesh-shape.ts';

/** A node `me` connected to `connected`, with live `members` whose records list these links. */
function shapeOf(connected: string[], members: Record<string, { links: string[] }>) {
  const heard = new Map<string, readonly string[]>(Object.entries(members).map(([id, m]) => [id, m.links]));
  const shape = createMeshShape({ self: 'me', connected: () => connected, members: () => heard });
  return { shape, heard };
}

describe('MeshShape', () => {
  it('is full when this node links to every member and each announces links to all the others', () => {
    const { shape } = shapeOf(['a', 'b'], {
      a: { links: ['b', 'me'] },
      b: { links: ['me', 'a'] },
    });
    expect(shape.full()).toBe(true);
  });

  it('is not full when a member lacks a link, even though this node links to all', () => {
    const { shape } = shapeOf(['a', 'b'], { a: { links: ['me'] }, b: { links: ['me'] } });
    expect(shape.full()).toBe(false);
    // Nor when a record repeats a link, or lists its own node or one that is no member.
    expect(shapeOf(['a', 'b'], { a: { links: ['me', 'me'] }, b: { links: ['a', 'me'] } }).shape.full()).toBe(
      false,
    );
    expect(shapeOf(['a', 'b'], { a: { links: ['a', 'me'] }, b: { links: ['a', 'me'] } }).shape.full()).toBe(
      false,
    );
    expect(shapeOf(['a', 'b'], { a: { links: ['x', 'me'] }, b: { links: ['a', 'me'] } }).shape.full()).toBe(
      false,
    );
  });

  it('is not full when this node lacks a link to a member it hears of', () => {
    const { shape } = shapeOf(['a'], { a: { links: ['b', 'me'] }, b: { links: ['a', 'me'] } });
    expect(shape.full()).toBe(false);
  });

  it('is not full when linked to a peer that announces nothing, nor with no members at all', () => {
    expect(shapeOf(['a', 'x'], { a: { links: ['me'] } }).shape.full()).toBe(false);
    expect(shapeOf([], {}).shape.full()).toBe(false);
    expect(shapeOf(['x'], {}).shape.full()).toBe(false);
  });

  afterEach(() => vi.useRealTimers());

  it('stops counting a member that died, and keeps a verdict for 100 ms', () => {
    vi.useFakeTimers();
    const { shape, heard } = shapeOf(['a'], {
      a: { links: ['me'] },
      gone: { links: ['a', 'me'] },
    });
    expect(shape.full()).toBe(false);
    heard.delete('gone');
    vi.advanceTimersByTime(100);
    expect(shape.full()).toBe(true);
    heard.set('a', []);
    expect(shape.full()).toBe(true);
    vi.advanceTimersByTime(100);
    expect(shape.full()).toBe(false);
  });
});
