import { useState } from 'preact/hooks';

export interface VirtualWindow {
  /** The first row to render, and one past the last. */
  first: number;
  last: number;
  onScroll: (e: Event) => void;
}

/**
 * Which of `count` rows of `rowHeight` pixels a scroll box `height` pixels tall shows, with
 * `overscan` more each side so fast scrolling shows no gaps.
 */
export function useVirtualWindow(
  count: number,
  rowHeight: number,
  height: number,
  overscan = 8,
): VirtualWindow {
  const [scrollTop, setScrollTop] = useState(0);
  return {
    first: Math.max(0, Math.floor(scrollTop / rowHeight) - overscan),
    last: Math.min(count, Math.ceil((scrollTop + height) / rowHeight) + overscan),
    onScroll: (e) => setScrollTop((e.currentTarget as HTMLElement).scrollTop),
  };
}
