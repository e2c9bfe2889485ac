import type { JSX } from 'preact';
/** A status word in its colour (task, step, workflow or node status). */
export function StatusBadge({ status }: { status: string }): JSX.Element {
  return <span class={`badge status-${status}`}>{status}</span>;
}
