import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMeshShape, linksDigest } from '../src/mesh-shape.ts';

/** A node `self` connected to `connected`, with live `members` that announced these links. */
function shapeOf(connected: string[], members: Record<string, { links: string[] }>) {
  const heard = new Map<string, Uint8Array>(
    Object.entries(members).map(([id, m]) => [id, linksDigest(m.links)]),
  );
  const shape = createMeshShape({ self: 'me', connected: () => connected, members: () => heard });
  return { shape, heard };
}

describe('MeshShape', () => {
  it('is full when this node links to every member and each announces links to all the others', () => {
    const { shape } = shapeOf(['a', 'b'], {
      a: { links: ['a', 'b', 'me'] },
      b: { links: ['me', 'b', 'a'] },
    });
    expect(shape.full()).toBe(true);
    expect(shape.links()).toEqual(linksDigest(['me', 'a', 'b']));
  });

  it('is not full when a member lacks a link, even though this node links to all', () => {
    const { shape } = shapeOf(['a', 'b'], { a: { links: ['a', 'me'] }, b: { links: ['b', 'me'] } });
    expect(shape.full()).toBe(false);
  });

  it('is not full when this node lacks a link to a member it hears of', () => {
    const { shape } = shapeOf(['a'], { a: { links: ['a', 'b', 'me'] }, b: { links: ['a', 'b', 'me'] } });
    expect(shape.full()).toBe(false);
    expect(shape.links()).toEqual(linksDigest(['me', 'a']));
  });

  it('is not full when linked to a peer that announces nothing, nor with no members at all', () => {
    expect(shapeOf(['a', 'x'], { a: { links: ['a', 'me'] } }).shape.full()).toBe(false);
    expect(shapeOf([], {}).shape.full()).toBe(false);
    expect(shapeOf(['x'], {}).shape.full()).toBe(false);
  });

  afterEach(() => vi.useRealTimers());

  it('stops counting a member that died, and keeps a verdict for 100 ms', () => {
    vi.useFakeTimers();
    const { shape, heard } = shapeOf(['a'], {
      a: { links: ['a', 'me'] },
      gone: { links: ['a', 'gone', 'me'] },
    });
    expect(shape.full()).toBe(false);
    heard.delete('gone');
    vi.advanceTimersByTime(100);
    expect(shape.full()).toBe(true);
    heard.set('a', linksDigest(['a']));
    expect(shape.full()).toBe(true);
    vi.advanceTimersByTime(100);
    expect(shape.full()).toBe(false);
  });
});
