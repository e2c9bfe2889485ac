import type { Value } from '@meshwork/core';
import type { RecordKind } from './store.ts';

/** The string and number fields every record of a kind must have. */
const shapes: Readonly<Record<RecordKind, readonly [readonly string[], readonly string[]]>> = {
  task: [['id', 'type', 'submittedBy'], ['submittedAt']],
  agent: [
    ['id', 'node'],
    ['capacity', 'registeredAt'],
  ],
  claim: [
    ['task', 'agent', 'node'],
    ['epoch', 'at', 'score', 'settleMs'],
  ],
  lease: [
    ['task', 'agent', 'node'],
    ['epoch', 'until'],
  ],
  start: [
    ['task', 'agent', 'node'],
    ['epoch', 'startedAt'],
  ],
  end: [
    ['task', 'agent', 'node', 'outcome'],
    ['epoch', 'startedAt', 'endedAt'],
  ],
  expiry: [
    ['task', 'by'],
    ['epoch', 'at'],
  ],
  cancel: [['task', 'by', 'reason'], ['at']],
  timeout: [['task', 'by'], ['at']],
  progress: [
    ['task', 'agent'],
    ['epoch', 'at'],
  ],
  workflow: [['run'], ['startedAt']],
  receipt: [[], ['upTo', 'in']],
};

/** Minimal shape checks: records from other replicas are data, not trusted code. */
export function hasRecordShape(kind: RecordKind, v: Value): boolean {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array) return false;
  const [strings, numbers] = shapes[kind];
  const o = v as { readonly [k: string]: Value };
  return strings.every((k) => typeof o[k] === 'string') && numbers.every((k) => typeof o[k] === 'number');
}
