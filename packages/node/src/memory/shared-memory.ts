import { createDocument, Emitter, type ChangeEvent, type Document, type Observable } from '@meshwork/core';
import type { Logger } from '../logger.ts';
import { persistDocument, type DocumentPersistence, type EventLogError } from '../persistence.ts';
import type { NodeStore } from '../store.ts';
import { createCatalogue } from './catalogue.ts';
import { pageOf } from './cursor-page.ts';
import { memberRegistry, REGISTRY_MEMBER, type MemberRegistry } from './member-registry.ts';
import { memberHandle, memberOfCoreName, type MemberAccess, type MemberType } from './member-types.ts';
import { MemoryError } from './memory-error.ts';
import type { MemberReadQuery, MemoryOperation, MemoryPageQuery } from './memory-schema.ts';
import { isMemoryName, MAX_DOCUMENT_NAME, MAX_MEMBER_NAME, meshDocumentName, NAME_RULE } from './names.ts';
import { fromCoreError, planOperation } from './operations.ts';
import { memberView, type MemberView } from './views.ts';

export interface MemoryLimits {
  /** Documents this node opens, and lets its API create (`limits.maxMemoryDocuments`). */
  readonly maxDocuments: number;
  /** Members one document may have before this node's API refuses a new one (`limits.maxMemoryMembers`). */
  readonly maxMembers: number;
}

export interface SharedMemoryOptions {
  /** This node's replica id (its peer id). */
  readonly replica: string;
  readonly store: NodeStore;
  /** Syncs Documents over the mesh: `MeshNode.attach` and `detach`. */
  readonly mesh: { attach(doc: Document): unknown; detach(name: string): void };
  readonly limits: MemoryLimits;
  /** Events in a document's SQLite log before a snapshot replaces them. */
  readonly compactAfterEvents: number;
  /** Called once when an event cannot be written (see persistDocument): the owner must stop. */
  readonly onWriteError: (err: EventLogError) => void;
  readonly logger: Logger;
}

/** A change to a document, made here or merged from a peer; `members` is empty when it just appeared. */
export type MemoryChange = { document: string; members: string[]; local: boolean };

export type DocumentSummary = { name: string; members: number };
export type MemberSummary = { name: string; type: MemberType; conflicts: MemberType[] };
export type DocumentPage = { documents: DocumentSummary[]; next: string | null };
export type MemberPage = { document: string; members: MemberSummary[]; next: string | null };

/**
 * `change` after every change, local or from a peer, once it is durable. A listener that throws is
 * logged and does not keep the others, nor the Document's later listeners (the transport), from
 * hearing the change.
 */
export interface SharedMemoryEvents {
  change: (change: MemoryChange) => void;
}

/**
 * Named shared Documents of CRDT members, synced over the mesh and durable in the node's SQLite
 * store: what `/v1/memory` serves, callable without HTTP. Every method validates its input and
 * throws a MemoryError (nothing changed) on a refusal; a write is in SQLite when it returns.
 */
export interface SharedMemory extends Observable<SharedMemoryEvents> {
  /** Documents open on this node, sorted by name. */
  documents(query?: MemoryPageQuery): DocumentPage;
  /** Creates `document` mesh-wide; `created` is false when it already existed. */
  create(document: string): { created: boolean; document: DocumentSummary };
  /** The members of `document` with their types, sorted by name. */
  members(document: string, query?: MemoryPageQuery): MemberPage;
  read(document: string, member: string, query?: MemberReadQuery): MemberView;
  /** Applies `op` to the member (creating the document and the member as needed); returns its new view. */
  write(document: string, member: string, op: MemoryOperation): MemberView;
  /** Events appended to SQLite since start. */
  storedEvents(): number;
  /** What restore moved to the quarantine table. */
  readonly quarantined: { readonly events: number; readonly snapshots: number };
  /** Stops syncing every document at once (fail-stop); persistence stays, so writes stay durable. */
  stopSyncing(): void;
  /** Stops syncing and recording every document; the store stays open. */
  close(): void;
}

/** A memory document's in-memory event log: peers lagging further get a snapshot. */
const DOCUMENT_LOG = { maxEvents: 10_000, maxBytes: 4 * 1024 * 1024 };

interface OpenDocument {
  readonly doc: Document;
  readonly registry: MemberRegistry;
  readonly persistence: DocumentPersistence;
  readonly onChange: (e: ChangeEvent) => void;
}

function checkName(field: 'document' | 'member', name: string, max: number): void {
  if (!isMemoryName(name, max))
    throw new MemoryError('invalid_request', `${field}: expected 1-${max} ${NAME_RULE}`, field);
}

const access = (doc: Document, member: string): MemberAccess => ({
  handle: (type) => memberHandle(doc, member, type),
});

/**
 * Restores the catalogue and every document it lists from the store, attaches them to the mesh,
 * and opens each document the catalogue learns of later. Call it before the node catches up, so
 * the first sync rounds carry shared memory too.
 */
export function createSharedMemory(options: SharedMemoryOptions): SharedMemory {
  const { replica, store, mesh, limits, logger } = options;
  const docs = new Map<string, OpenDocument>();
  const quarantined = { events: 0, snapshots: 0 };
  const skipped = new Set<string>();
  let stored = 0;
  let syncing = true;

  // A listener's failure must not stop the Document's later listeners (the transport).
  const events = new Emitter<SharedMemoryEvents>({
    onListenerError: (err) => logger.error({ err }, 'shared memory listener failed'),
  });
  const emit = (change: MemoryChange): void => events.emit('change', [change]);

  const persist = (doc: Document): DocumentPersistence => {
    const persistence = persistDocument(doc, store, {
      compactAfterEvents: options.compactAfterEvents,
      onWriteError: options.onWriteError,
      onQuarantine: (item, err) =>
        logger.error(
          { doc: doc.name, item, err, db: store.path },
          'stored state cannot be restored; moved to quarantine',
        ),
    });
    quarantined.events += persistence.quarantined.events;
    quarantined.snapshots += persistence.quarantined.snapshots;
    return persistence;
  };

  /** Restores and syncs `name`; false when this node is at its document limit. */
  const openDocument = (name: string): boolean => {
    if (docs.has(name)) return false;
    if (docs.size >= limits.maxDocuments) {
      if (!skipped.has(name)) {
        skipped.add(name);
        logger.warn(
          { document: name, limit: limits.maxDocuments },
          'shared memory document not opened: this node is at limits.maxMemoryDocuments',
        );
      }
      return false;
    }
    const doc = createDocument({ name: meshDocumentName(name), replica, log: DOCUMENT_LOG });
    // First, so a change is durable before it is reported or gossiped.
    const persistence = persist(doc);
    const registry = memberRegistry(doc);
    const onChange = (e: ChangeEvent): void => {
      stored++;
      if (e.snapshot || e.members.includes(REGISTRY_MEMBER)) registry.invalidate();
      const members = new Set<string>();
      for (const core of e.members) {
        const member = memberOfCoreName(core);
        if (member !== undefined) members.add(member);
      }
      emit({ document: name, members: [...members].sort(), local: e.local });
    };
    doc.on('change', onChange);
    docs.set(name, { doc, registry, persistence, onChange });
    if (syncing) mesh.attach(doc);
    return true;
  };

  const catalogue = createCatalogue(replica);
  const cataloguePersistence = persist(catalogue.doc);
  for (const name of catalogue.names()) openDocument(name);
  const onCatalogueChange = (e: ChangeEvent): void => {
    stored++;
    for (const name of catalogue.names()) {
      try {
        if (openDocument(name)) emit({ document: name, members: [], local: e.local });
      } catch (err) {
        logger.error({ err, document: name }, 'shared memory document could not be opened');
      }
    }
  };
  catalogue.doc.on('change', onCatalogueChange);
  mesh.attach(catalogue.doc);
  logger.info({ documents: docs.size }, 'shared memory restored');

  const opened = (document: string): OpenDocument => {
    checkName('document', document, MAX_DOCUMENT_NAME);
    const open = docs.get(document);
    if (open === undefined) throw new MemoryError('not_found', `no document ${document}`, 'document');
    return open;
  };

  /** Refuses a new document past the limit; one the catalogue lists but this node skipped counts too. */
  const assertRoomFor = (document: string): void => {
    const count = catalogue.names().length;
    if (!catalogue.has(document) && count < limits.maxDocuments) return;
    throw new MemoryError(
      'limit_exceeded',
      `document: ${count} documents exist (limit limits.maxMemoryDocuments = ${limits.maxDocuments})`,
      'document',
    );
  };

  const ensureOpen = (document: string): OpenDocument => {
    catalogue.add(document);
    openDocument(document);
    return docs.get(document)!;
  };

  const summary = (name: string, open: OpenDocument): DocumentSummary => ({
    name,
    members: open.registry.size,
  });

  const stopSyncing = (): void => {
    syncing = false;
    mesh.detach(catalogue.doc.name);
    for (const open of docs.values()) mesh.detach(open.doc.name);
  };

  const view = (document: string, open: OpenDocument, member: string, query: MemberReadQuery): MemberView => {
    const entry = open.registry.get(member);
    if (entry === undefined)
      throw new MemoryError('not_found', `no member ${member} in document ${document}`, 'member');
    return memberView(document, entry, access(open.doc, member), query, replica);
  };

  return {
    documents(query = {}) {
      const names = [...docs.keys()].sort();
      const page = pageOf(names, (n) => n, query);
      return { documents: page.items.map((n) => summary(n, docs.get(n)!)), next: page.next };
    },
    create(document) {
      checkName('document', document, MAX_DOCUMENT_NAME);
      const open = docs.get(document);
      if (open !== undefined) return { created: false, document: summary(document, open) };
      assertRoomFor(document);
      return { created: true, document: summary(document, ensureOpen(document)) };
    },
    members(document, query = {}) {
      const open = opened(document);
      const page = pageOf(open.registry.names(), (n) => n, query);
      return {
        document,
        members: page.items.map((name) => {
          const m = open.registry.get(name)!;
          return { name, type: m.type, conflicts: m.conflicts.map((c) => c.type) };
        }),
        next: page.next,
      };
    },
    read(document, member, query = {}) {
      const open = opened(document);
      checkName('member', member, MAX_MEMBER_NAME);
      return view(document, open, member, query);
    },
    write(document, member, op) {
      checkName('document', document, MAX_DOCUMENT_NAME);
      checkName('member', member, MAX_MEMBER_NAME);
      const existing = docs.get(document);
      if (existing === undefined) assertRoomFor(document);
      const entry = existing?.registry.get(member);
      if (entry !== undefined && entry.type !== op.type) {
        throw new MemoryError(
          'type_conflict',
          `type: member ${member} of document ${document} has type ${entry.type}; this write is of type ${op.type}`,
          'type',
        );
      }
      if (entry === undefined && existing !== undefined && existing.registry.size >= limits.maxMembers) {
        throw new MemoryError(
          'limit_exceeded',
          `member: document ${document} has ${existing.registry.size} members (limit limits.maxMemoryMembers = ${limits.maxMembers})`,
          'member',
        );
      }
      const current =
        entry === undefined || existing === undefined ? undefined : access(existing.doc, member);
      const change = planOperation(op, current, replica);
      const open = existing ?? ensureOpen(document);
      open.doc.transact(() => {
        try {
          change(access(open.doc, member));
        } catch (err) {
          throw fromCoreError(err);
        }
        // In the event of the first write, so no peer sees the member's data without its type.
        if (entry === undefined) open.registry.register(member, op.type);
      });
      return view(document, open, member, {});
    },
    ...events.observable(),
    storedEvents: () => stored,
    quarantined,
    stopSyncing,
    close() {
      stopSyncing();
      catalogue.doc.off('change', onCatalogueChange);
      cataloguePersistence.detach();
      for (const open of docs.values()) {
        open.doc.off('change', open.onChange);
        open.persistence.detach();
      }
      events.destroy();
    },
  };
}
