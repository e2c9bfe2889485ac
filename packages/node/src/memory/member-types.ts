import type {
  BoundedCounter,
  Document,
  Graph,
  LWWRegister,
  MVRegister,
  ORSet,
  PNCounter,
  TimeSeries,
  YDoc,
} from '@meshwork/core';

/** The member types of shared memory; each is one of core's CRDTs (`text` is a Yjs document's text). */
export const MEMBER_TYPES = [
  'lww',
  'mvregister',
  'orset',
  'pncounter',
  'boundedcounter',
  'graph',
  'timeseries',
  'text',
] as const;

export type MemberType = (typeof MEMBER_TYPES)[number];

export interface MemberHandles {
  lww: LWWRegister;
  mvregister: MVRegister;
  orset: ORSet;
  pncounter: PNCounter;
  boundedcounter: BoundedCounter;
  graph: Graph;
  timeseries: TimeSeries;
  text: YDoc;
}

const OPEN: { readonly [T in MemberType]: (doc: Document, name: string) => MemberHandles[T] } = {
  lww: (doc, name) => doc.lww(name),
  mvregister: (doc, name) => doc.mvregister(name),
  orset: (doc, name) => doc.orset(name),
  pncounter: (doc, name) => doc.pncounter(name),
  boundedcounter: (doc, name) => doc.boundedCounter(name),
  graph: (doc, name) => doc.graph(name),
  timeseries: (doc, name) => doc.timeSeries(name),
  text: (doc, name) => doc.ydoc(name),
};

export function isMemberType(v: unknown): v is MemberType {
  return (MEMBER_TYPES as readonly unknown[]).includes(v);
}

/**
 * The core member holding member `name` of `type`. The type is part of the name: two nodes that
 * create one name with two types at once make two core members, where one core member would
 * hold a type conflict that stops the Document syncing between them.
 */
export function coreMemberName(name: string, type: MemberType): string {
  return `${type}/${name}`;
}

/** The member a core member holds, or undefined for a core member that is not one (the registry). */
export function memberOfCoreName(core: string): string | undefined {
  const slash = core.indexOf('/');
  return slash > 0 && isMemberType(core.slice(0, slash)) ? core.slice(slash + 1) : undefined;
}

/** The handle of member `name` of `type` in `doc`, created empty when absent. */
export function memberHandle<T extends MemberType>(doc: Document, name: string, type: T): MemberHandles[T] {
  return OPEN[type](doc, coreMemberName(name, type));
}

/** The Yjs text a `text` member shows: the one named "text" in its Yjs document. */
export function textOf(handle: YDoc): ReturnType<YDoc['doc']['getText']> {
  return handle.doc.getText('text');
}

/** Reaches a member's handle: a member that does not exist yet is created empty. */
export interface MemberAccess {
  handle<T extends MemberType>(type: T): MemberHandles[T];
}
