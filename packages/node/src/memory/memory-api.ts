import { ApiError, type MemoryApi } from '../http-server.ts';
import { MemoryError, type MemoryErrorCode } from './memory-error.ts';
import type { SharedMemory } from './shared-memory.ts';

const STATUS: { readonly [C in MemoryErrorCode]: number } = {
  invalid_request: 400,
  limit_exceeded: 400,
  not_found: 404,
  type_conflict: 409,
  insufficient_rights: 409,
  missing_vertex: 409,
};

/** Runs a shared-memory call, answering its refusals as HTTP errors with the same code and field. */
function answer<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof MemoryError) throw new ApiError(STATUS[err.code], err.code, err.message, err.field);
    throw err;
  }
}

/** `/v1/memory` over the node's shared memory. */
export function createMemoryApi(memory: SharedMemory): MemoryApi {
  return {
    listDocuments: (query) => answer(() => memory.documents(query)),
    createDocument: (document) => answer(() => memory.create(document)),
    getDocument: (document, query) => answer(() => memory.members(document, query)),
    getMember: (document, member, query) => answer(() => memory.read(document, member, query)),
    writeMember: (document, member, op) => answer(() => memory.write(document, member, op)),
  };
}
