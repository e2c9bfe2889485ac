import type { Value } from '@meshwork/core';
import type {
  AgentId,
  AttemptEnd,
  AttemptStart,
  Cancellation,
  Claim,
  EpochExpiry,
  Lease,
  Progress,
  StartTimeout,
  TaskId,
  TaskRecords,
  TaskSpec,
} from './model.ts';
import type { DerivedTask } from './status.ts';
import type { RecordChange, RecordKind } from './store.ts';

/** Records of one kind by record key; null until the task has one (most tasks never get some kinds). */
type Records<T> = Map<string, T> | null;

/** The kinds of record held per task besides the task record itself. */
export type AttemptRecordKind = Exclude<RecordKind, 'task' | 'agent' | 'workflow' | 'receipt'>;

/** Everything this replica holds about one task, and its derived state while cached. */
export interface TaskEntry {
  spec: TaskSpec | null;
  claims: Records<Claim>;
  leases: Records<Lease>;
  starts: Records<AttemptStart>;
  ends: Records<AttemptEnd>;
  expiries: Records<EpochExpiry>;
  cancel: Cancellation | null;
  startTimeout: StartTimeout | null;
  progress: Progress | null;
  derived: DerivedTask | null;
  holder: AgentId | null;
}

const noRecords: readonly never[] = [];
const valuesOf = <T>(m: Records<T>): readonly T[] => (m === null ? noRecords : [...m.values()]);
const sizeOf = (m: Records<unknown>): number => m?.size ?? 0;

export function emptyTaskEntry(): TaskEntry {
  return {
    spec: null,
    claims: null,
    leases: null,
    starts: null,
    ends: null,
    expiries: null,
    cancel: null,
    startTimeout: null,
    progress: null,
    derived: null,
    holder: null,
  };
}

/** True when the entry holds no record at all. */
export function isEmptyEntry(e: TaskEntry): boolean {
  return (
    e.spec === null &&
    sizeOf(e.claims) + sizeOf(e.leases) + sizeOf(e.starts) + sizeOf(e.ends) + sizeOf(e.expiries) === 0 &&
    e.cancel === null &&
    e.startTimeout === null &&
    e.progress === null
  );
}

/** Stores a loaded record (its shape already checked). */
export function setAttemptRecord(e: TaskEntry, kind: AttemptRecordKind, key: string, v: Value): void {
  switch (kind) {
    case 'claim':
      (e.claims ??= new Map()).set(key, v);
      break;
    case 'lease':
      (e.leases ??= new Map()).set(key, v);
      break;
    case 'start':
      (e.starts ??= new Map()).set(key, v);
      break;
    case 'end':
      (e.ends ??= new Map()).set(key, v);
      break;
    case 'expiry':
      (e.expiries ??= new Map()).set(key, v);
      break;
    case 'cancel':
      e.cancel = v as unknown as Cancellation;
      break;
    case 'timeout':
      e.startTimeout = v as unknown as StartTimeout;
      break;
    case 'progress':
      e.progress = v as unknown as Progress;
      break;
  }
}

/** Drops a removed record; returns false when the entry holds no such record. */
export function removeAttemptRecord(e: TaskEntry, kind: AttemptRecordKind, key: string): boolean {
  switch (kind) {
    case 'claim':
      return e.claims?.delete(key) ?? false;
    case 'lease':
      return e.leases?.delete(key) ?? false;
    case 'start':
      return e.starts?.delete(key) ?? false;
    case 'end':
      return e.ends?.delete(key) ?? false;
    case 'expiry':
      return e.expiries?.delete(key) ?? false;
    case 'cancel':
      return e.cancel !== null && ((e.cancel = null), true);
    case 'timeout':
      return e.startTimeout !== null && ((e.startTimeout = null), true);
    case 'progress':
      return e.progress !== null && ((e.progress = null), true);
  }
}

/** The entry's records as the status derivation reads them; null without a task record. */
export function entryRecords(e: TaskEntry): TaskRecords | null {
  if (e.spec === null) return null;
  return {
    spec: e.spec,
    claims: valuesOf(e.claims),
    leases: valuesOf(e.leases),
    starts: valuesOf(e.starts),
    ends: valuesOf(e.ends),
    expiries: valuesOf(e.expiries),
    cancel: e.cancel,
    startTimeout: e.startTimeout,
    progress: e.progress,
  };
}

/** Every record the entry holds for task `id`, for removing it. */
export function entryRecordKeys(id: TaskId, e: TaskEntry): RecordChange[] {
  const out: RecordChange[] = [];
  const add = (kind: RecordKind, keys: Iterable<string>): void => {
    for (const key of keys) out.push({ kind, key });
  };
  if (e.spec !== null) add('task', [id]);
  add('claim', e.claims?.keys() ?? noRecords);
  add('lease', e.leases?.keys() ?? noRecords);
  add('start', e.starts?.keys() ?? noRecords);
  add('end', e.ends?.keys() ?? noRecords);
  add('expiry', e.expiries?.keys() ?? noRecords);
  if (e.cancel !== null) add('cancel', [id]);
  if (e.startTimeout !== null) add('timeout', [id]);
  if (e.progress !== null) add('progress', [id]);
  return out;
}
