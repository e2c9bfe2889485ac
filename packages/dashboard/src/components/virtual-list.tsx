import type { ComponentChildren, JSX } from 'preact';
import { useVirtualWindow } from './virtual-window.ts';

export interface VirtualListProps<T> {
  items: readonly T[];
  rowHeight: number;
  /** Visible height in pixels. */
  height: number;
  row: (item: T, index: number) => ComponentChildren;
  /** Rows rendered beyond the visible ones, each side, so fast scrolling shows no gaps. */
  overscan?: number;
}

/** A list that renders only the rows in view: as fast with 10,000 items as with 10. */
export function VirtualList<T>(p: VirtualListProps<T>): JSX.Element {
  const { first, last, onScroll } = useVirtualWindow(p.items.length, p.rowHeight, p.height, p.overscan);
  const rows: ComponentChildren[] = [];
  for (let i = first; i < last; i++) {
    rows.push(
      <div class="vrow" style={{ top: `${i * p.rowHeight}px`, height: `${p.rowHeight}px` }} key={i}>
        {p.row(p.items[i]!, i)}
      </div>,
    );
  }
  return (
    <div class="vlist" style={{ height: `${p.height}px` }} onScroll={onScroll}>
      <div style={{ height: `${p.items.length * p.rowHeight}px`, position: 'relative' }}>{rows}</div>
    </div>
  );
}
