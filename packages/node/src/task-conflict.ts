import type { TaskSpec } from '@meshwork/coordinator';
import { toJson } from './json.ts';

/** What a submission chooses of a task, by the request field that sets it; the rest (when, by whom) is the mesh's. */
const CHOSEN: readonly [field: string, of: (spec: TaskSpec) => unknown][] = [
  ['type', (s) => s.type],
  ['input', (s) => s.input],
  ['needs', (s) => s.needs],
  ['priority', (s) => s.priority],
  ['dependsOn', (s) => s.dependsOn],
  ['resources', (s) => s.resources],
  ['retry', (s) => s.retry],
  ['timeouts', (s) => s.timeouts],
  ['idempotencyKey', (s) => s.idempotencyKey],
];

/** JSON with object keys sorted, so equal values compare equal however they were built. */
function canonical(value: unknown): string {
  return JSON.stringify(toJson(value), (_k, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/**
 * The first field a resubmission of a task id sets otherwise than the task already submitted
 * under it, or `undefined` when it is the same task (a retried request, answered as before).
 */
export function differingField(existing: TaskSpec, submitted: TaskSpec): string | undefined {
  return CHOSEN.find(([, of]) => canonical(of(existing)) !== canonical(of(submitted)))?.[0];
}
