import { MAX_SEQ } from '../causal/dot.ts';
import { HLC } from '../clock/hlc.ts';
import { defaultDecodeLimits, type DecodeLimits } from '../codec/limits.ts';
import type { ReplicaId } from '../replica.ts';
import { MAX_STRUCTURE_DEPTH } from '../types/spec.ts';
import type { DocumentOptions } from './document-api.ts';
import { DocumentArgumentError } from './errors.ts';
import { defaultEventLogLimits, type EventLogLimits } from './event-log.ts';

const MAX_REPLICA_ID = 256;

/** DocumentOptions checked, with their defaults filled in. */
export interface DocumentSettings {
  readonly replica: ReplicaId;
  readonly name: string;
  readonly hlc: HLC;
  readonly limits: DecodeLimits;
  readonly log: EventLogLimits;
  /** Local seqs start above this (see DocumentOptions.startSeq). */
  readonly seqFloor: number;
}

/** Checks `createDocument`'s options; throws DocumentArgumentError naming the first bad one. */
export function documentSettings(options: DocumentOptions): DocumentSettings {
  if (typeof options !== 'object' || options === null)
    throw new DocumentArgumentError('createDocument: options required');
  const { replica, name } = options;
  if (typeof replica !== 'string' || replica.length === 0 || replica.length > MAX_REPLICA_ID) {
    throw new DocumentArgumentError(
      `createDocument: replica must be a non-empty string of at most ${MAX_REPLICA_ID} characters`,
    );
  }
  if (typeof name !== 'string') throw new DocumentArgumentError('createDocument: name must be a string');
  const maxEvents = options.log?.maxEvents ?? defaultEventLogLimits.maxEvents;
  const maxBytes = options.log?.maxBytes ?? defaultEventLogLimits.maxBytes;
  if (!Number.isSafeInteger(maxEvents) || maxEvents < 0) {
    throw new DocumentArgumentError('createDocument: log.maxEvents must be a non-negative integer');
  }
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
    throw new DocumentArgumentError('createDocument: log.maxBytes must be a non-negative integer');
  }
  const hlc = new HLC(replica, {
    ...(options.clock !== undefined && { clock: options.clock }),
    ...(options.maxDriftMs !== undefined && { maxDriftMs: options.maxDriftMs }),
  });
  const limits = checkLimits(options.limits ?? defaultDecodeLimits);
  const startSeq = options.startSeq ?? 0;
  if (!Number.isSafeInteger(startSeq) || startSeq < 0 || startSeq >= MAX_SEQ) {
    throw new DocumentArgumentError(`createDocument: startSeq must be an integer in [0, ${MAX_SEQ})`);
  }
  return { replica, name, hlc, limits, log: { maxEvents, maxBytes }, seqFloor: startSeq };
}

/** Limits a Document can work under: positive integers, with room for every member spec. */
function checkLimits(limits: DecodeLimits): DecodeLimits {
  if (typeof limits !== 'object' || limits === null) {
    throw new DocumentArgumentError('createDocument: limits must be an object');
  }
  const fields = ['maxMessageBytes', 'maxDepth', 'maxEntries', 'maxStringBytes'] as const;
  for (const field of fields) {
    const n = limits[field];
    if (!Number.isSafeInteger(n) || n <= 0) {
      throw new DocumentArgumentError(`createDocument: limits.${field} must be a positive integer`);
    }
  }
  const valueDepth = limits.maxValueDepth;
  if (valueDepth !== undefined && (!Number.isSafeInteger(valueDepth) || valueDepth < 0)) {
    throw new DocumentArgumentError('createDocument: limits.maxValueDepth must be a non-negative integer');
  }
  if (limits.maxDepth < MAX_STRUCTURE_DEPTH) {
    throw new DocumentArgumentError(
      `createDocument: limits.maxDepth must be at least ${MAX_STRUCTURE_DEPTH}, the nesting of the deepest member spec`,
    );
  }
  return limits;
}
