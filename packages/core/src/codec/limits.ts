/** Bounds checked while decoding, before anything is allocated. */
export interface DecodeLimits {
  /** Largest message accepted, in bytes. */
  readonly maxMessageBytes: number;
  /** Deepest nesting of values and CRDTs. */
  readonly maxDepth: number;
  /** Most entries in one collection (map, set, list, log). */
  readonly maxEntries: number;
  /** Longest string or byte array, in bytes. */
  readonly maxStringBytes: number;
}

export const defaultDecodeLimits: DecodeLimits = Object.freeze({
  maxMessageBytes: 64 * 1024 * 1024,
  maxDepth: 32,
  maxEntries: 4_000_000,
  maxStringBytes: 16 * 1024 * 1024,
});
