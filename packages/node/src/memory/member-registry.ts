import { compareTimestamps, type Document, type Timestamp } from '@meshwork/core';
import { isMemberType, type MemberType } from './member-types.ts';
import { isMemoryName, MAX_MEMBER_NAME } from './names.ts';

/** The core member (an ORSet) of a shared-memory Document that records which members exist. */
export const REGISTRY_MEMBER = 'members';

/** A member's creation: its name and type, stamped with the creating node's HLC. */
export interface Registration {
  readonly type: MemberType;
  readonly createdAt: Timestamp;
}

/** A member as readers see it: the earliest registration of its name wins; the others are conflicts. */
export interface RegisteredMember extends Registration {
  readonly name: string;
  /** Types other nodes created the same name with concurrently; their writes are kept but not shown. */
  readonly conflicts: readonly Registration[];
}

export interface MemberRegistry {
  get(name: string): RegisteredMember | undefined;
  /** Registered member names, sorted. */
  names(): string[];
  readonly size: number;
  /** Records member `name` of `type`, created now; call inside the transaction of its first write. */
  register(name: string, type: MemberType): void;
  /** Forgets what was read: call when the registry member changed. */
  invalidate(): void;
}

/** A registration as stored: plain data, so peers' Documents decode it like any set element. */
interface StoredRegistration {
  readonly member: string;
  readonly type: string;
  readonly wall: number;
  readonly logical: number;
  readonly replica: string;
}

function parse(v: unknown): { name: string; registration: Registration } | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const r = v as Partial<StoredRegistration>;
  if (!isMemoryName(r.member, MAX_MEMBER_NAME) || !isMemberType(r.type)) return undefined;
  if (!Number.isSafeInteger(r.wall) || !Number.isSafeInteger(r.logical) || typeof r.replica !== 'string')
    return undefined;
  return {
    name: r.member,
    registration: {
      type: r.type,
      createdAt: { wall: r.wall as number, logical: r.logical as number, replica: r.replica },
    },
  };
}

/**
 * The members of a shared-memory Document. A member is registered in the same event as its first
 * write, so a peer never sees its data without its type. When two nodes create one name with two
 * types concurrently, every replica shows the type created first (by HLC), whatever order the
 * registrations arrive in.
 */
export function memberRegistry(doc: Document): MemberRegistry {
  const set = doc.orset(REGISTRY_MEMBER);
  let members: Map<string, RegisteredMember> | undefined;

  const read = (): Map<string, RegisteredMember> => {
    if (members !== undefined) return members;
    const byName = new Map<string, Registration[]>();
    for (const v of set.values()) {
      const parsed = parse(v);
      if (parsed === undefined) continue;
      const list = byName.get(parsed.name) ?? [];
      list.push(parsed.registration);
      byName.set(parsed.name, list);
    }
    members = new Map();
    for (const name of [...byName.keys()].sort()) {
      const [first, ...rest] = byName
        .get(name)!
        .sort((a, b) => compareTimestamps(a.createdAt, b.createdAt)) as [Registration, ...Registration[]];
      // A node registers a name once: any other registration of it was concurrent. One per type.
      const conflicts = rest.filter(
        (r, i) => r.type !== first.type && rest.findIndex((o) => o.type === r.type) === i,
      );
      members.set(name, { name, ...first, conflicts });
    }
    return members;
  };

  return {
    get: (name) => read().get(name),
    names: () => [...read().keys()],
    get size() {
      return read().size;
    },
    register(name, type) {
      const at = doc.hlc.now();
      const stored: StoredRegistration = {
        member: name,
        type,
        wall: at.wall,
        logical: at.logical,
        replica: at.replica,
      };
      set.add({ ...stored });
    },
    invalidate() {
      members = undefined;
    },
  };
}
