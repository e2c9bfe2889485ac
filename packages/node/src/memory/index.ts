/** Shared memory: named shared Documents of CRDT members (see the README's "Shared memory"). */
export {
  createSharedMemory,
  type DocumentPage,
  type DocumentSummary,
  type MemberPage,
  type MemberSummary,
  type MemoryChange,
  type MemoryLimits,
  type SharedMemory,
  type SharedMemoryEvents,
  type SharedMemoryOptions,
} from './shared-memory.ts';
export { MemoryError, type MemoryErrorCode } from './memory-error.ts';
export { MEMBER_TYPES, type MemberType } from './member-types.ts';
export type { JsonObject, MemberView } from './views.ts';
export {
  memberReadQuery,
  memoryOperation,
  memoryPageQuery,
  registerBody,
  type MemberReadQuery,
  type MemoryOperation,
  type MemoryPageQuery,
  type RegisterBody,
} from './memory-schema.ts';
