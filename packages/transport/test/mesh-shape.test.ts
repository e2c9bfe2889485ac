import { describe, expect, it } from 'vitest';
import { createMeshShape, linksDigest, type MemberLinks } from '../src/mesh-shape.ts';

/** A node `self` connected to `connected`, having heard `members` announce their links. */
function shapeOf(connected: string[], members: Record<string, { links: string[]; heardAt?: number }>) {
  let now = 10_000;
  const heard = new Map<string, MemberLinks>(
    Object.entries(members).map(([id, m]) => [
      id,
      { links: linksDigest(m.links), heardAt: m.heardAt ?? now },
    ]),
  );
  const shape = createMeshShape({
    self: 'me',
    connected: () => connected,
    members: () => heard,
    freshMs: 3000,
    now: () => now,
  });
  return { shape, heard, later: (ms: number) => (now += ms) };
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

  it('stops counting a member not heard from lately, and keeps a verdict for 100 ms', () => {
    const { shape, heard, later } = shapeOf(['a'], {
      a: { links: ['a', 'me'] },
      gone: { links: ['a', 'gone', 'me'], heardAt: 9000 },
    });
    expect(shape.full()).toBe(false);
    later(2500); // `gone` last heard 3.5 s ago
    expect(shape.full()).toBe(true);
    heard.set('a', { links: linksDigest(['a']), heardAt: 12_500 });
    expect(shape.full()).toBe(true);
    later(100);
    expect(shape.full()).toBe(false);
  });
});
