/** Items per page when the caller names no `limit`. */
export const DEFAULT_PAGE_SIZE = 100;

export interface Page<T> {
  readonly items: T[];
  /** Pass as `cursor` for the next page; null on the last one. */
  readonly next: string | null;
}

/**
 * At most `limit` of `items` (sorted by `keyOf`, ascending as strings) whose key lies after
 * `cursor`. The cursor is the last key of the page before, opaque to clients; it stays valid
 * when items are added or removed meanwhile.
 */
export function pageOf<T>(
  items: readonly T[],
  keyOf: (item: T) => string,
  query: { readonly limit?: number | undefined; readonly cursor?: string | undefined },
): Page<T> {
  const limit = query.limit ?? DEFAULT_PAGE_SIZE;
  const after = query.cursor === undefined ? undefined : Buffer.from(query.cursor, 'base64url').toString();
  let start = 0;
  if (after !== undefined) {
    let hi = items.length;
    while (start < hi) {
      const mid = (start + hi) >>> 1;
      if (keyOf(items[mid] as T) <= after) start = mid + 1;
      else hi = mid;
    }
  }
  const page = items.slice(start, start + limit);
  const last = page.at(-1);
  const more = start + limit < items.length && last !== undefined;
  return { items: page, next: more ? Buffer.from(keyOf(last)).toString('base64url') : null };
}
