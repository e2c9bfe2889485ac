/** Bounds checked while decoding, before anything is allocated, and on every local write. */
export interface DecodeLimits {
  /** Largest message accepted, in bytes. */
  readonly maxMessageBytes: number;
  /** Deepest structural nesting: CRDTs inside maps, type specs, contexts (user values not counted). */
  readonly maxDepth: number;
  /**
   * Deepest nesting of lists and objects inside one user value, counted on its own so the
   * structure around a value never eats into its budget. Defaults to `maxDepth` when absent.
   */
  readonly maxValueDepth?: number;
  /** Most entries in one collection (map, set, list, log). */
  readonly maxEntries: number;
  /** Longest string or byte array, in bytes (strings as UTF-8). */
  readonly maxStringBytes: number;
}

/** The limits every Document uses unless given others; import them to check input at an entry point. */
export const defaultDecodeLimits: Required<DecodeLimits> = Object.freeze({
  maxMessageBytes: 64 * 1024 * 1024,
  maxDepth: 32,
  maxValueDepth: 64,
  maxEntries: 4_000_000,
  maxStringBytes: 16 * 1024 * 1024,
});

/** The value depth budget of `limits`. */
export function valueDepthOf(limits: DecodeLimits): number {
  return limits.maxValueDepth ?? limits.maxDepth;
}
