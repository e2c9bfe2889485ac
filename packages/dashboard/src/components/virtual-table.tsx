import type { ComponentChildren, JSX } from 'preact';
import { useVirtualWindow } from './virtual-window.ts';

export interface VirtualTableProps<T> {
  /** The table's class, as the page's styles and tests know it. */
  class: string;
  /** The header row's cells. */
  head: ComponentChildren;
  items: readonly T[];
  /** Every row is this tall (the rows' style holds them to it). */
  rowHeight: number;
  /** The table scrolls beyond this height. */
  maxHeight: number;
  /** One `<tr>` for an item. */
  row: (item: T) => ComponentChildren;
}

/**
 * A table that keeps only the rows in view in the page (a small one is drawn whole): rows above
 * and below the view are stood in for by one empty row each, as tall as they would be.
 */
export function VirtualTable<T>(p: VirtualTableProps<T>): JSX.Element {
  const height = Math.min(p.items.length * p.rowHeight, p.maxHeight);
  const { first, last, onScroll } = useVirtualWindow(p.items.length, p.rowHeight, height);
  const spacer = (rows: number, key: string): ComponentChildren =>
    rows > 0 ? (
      <tr class="vspacer" key={key} aria-hidden="true" style={{ height: `${rows * p.rowHeight}px` }}>
        <td colSpan={100} />
      </tr>
    ) : null;
  return (
    <div class="vtable" style={{ maxHeight: `${p.maxHeight}px` }} onScroll={onScroll}>
      <table class={p.class} style={{ '--row-height': `${p.rowHeight}px` }}>
        <thead>
          <tr>{p.head}</tr>
        </thead>
        <tbody>
          {spacer(first, 'above')}
          {p.items.slice(first, last).map(p.row)}
          {spacer(p.items.length - last, 'below')}
        </tbody>
      </table>
    </div>
  );
}
