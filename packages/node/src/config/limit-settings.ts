import { z } from 'zod';
import { nonNegative, positive } from './field-schemas.ts';

export const defaultLimits = Object.freeze({
  maxOpenTasks: 10_000,
  maxWorkflowTasks: 1_000,
  maxEventStreams: 100,
  eventStreamBufferBytes: 256 * 1024,
  maxMemoryDocuments: 100,
  maxMemoryMembers: 1_000,
  maxEventLoopLagMs: 0,
});

/**
 * Most shared-memory documents a node may open: each is synced on its own, and a sync round
 * carries one digest per open Document (the transport accepts at most 4096 in a round).
 */
const MAX_MEMORY_DOCUMENTS = 4_000;

/** Backpressure: what a node accepts before it answers 429 (or 400 for a request that can never fit). */
export const limitSettings = z
  .strictObject({
    /** Open (not yet finished) tasks this replica holds before submissions get 429. */
    maxOpenTasks: positive(defaultLimits.maxOpenTasks),
    /** Most tasks one step wave of a workflow (a forEach) may create at start. */
    maxWorkflowTasks: positive(defaultLimits.maxWorkflowTasks),
    /** Concurrent `GET /v1/events` clients. */
    maxEventStreams: positive(defaultLimits.maxEventStreams),
    /** Unsent bytes an event-stream client may fall behind by before it is dropped. */
    eventStreamBufferBytes: positive(defaultLimits.eventStreamBufferBytes),
    /** Shared-memory documents this node opens and lets its API create. */
    maxMemoryDocuments: positive(defaultLimits.maxMemoryDocuments).refine((n) => n <= MAX_MEMORY_DOCUMENTS, {
      message: `expected at most ${MAX_MEMORY_DOCUMENTS}`,
    }),
    /** Members a shared-memory document may have before this node's API refuses a new one. */
    maxMemoryMembers: positive(defaultLimits.maxMemoryMembers),
    /**
     * How late this node's event loop may have run within the last 10 s before submissions get
     * 429: a node that cannot keep up pushes new work back rather than stalling further. 0: never.
     */
    maxEventLoopLagMs: nonNegative(defaultLimits.maxEventLoopLagMs),
  })
  .default(() => ({ ...defaultLimits }));
