import type { MemberType } from './member-type.ts';

/** Collects the keys that map deltas touch, per member (a ChangeEvent's `keys`). */
export class MapKeys extends Map<string, Set<string>> {
  add(name: string, type: MemberType, delta: unknown): void {
    if (type.keysOf === undefined) return;
    let keys = this.get(name);
    if (keys === undefined) this.set(name, (keys = new Set()));
    for (const k of type.keysOf(delta)) keys.add(k);
  }
}

export const noKeys: ReadonlyMap<string, ReadonlySet<string>> = new Map();
