import { dataLimits } from '@meshwork/coordinator';
import {
  GraphError,
  InsufficientRights,
  InvalidArgumentError,
  LimitExceededError,
  validateValue,
  type Value,
} from '@meshwork/core';
import { textOf, type MemberAccess } from './member-types.ts';
import { MemoryError } from './memory-error.ts';
import type { MemoryOperation } from './memory-schema.ts';

/** A core refusal as a MemoryError (naming `field` when given); anything else is returned as it is. */
export function fromCoreError(err: unknown, field?: string): unknown {
  const message = (e: Error): string => (field === undefined ? e.message : `${field}: ${e.message}`);
  const as = (code: MemoryError['code'], e: Error): MemoryError =>
    new MemoryError(code, message(e), field, { cause: e });
  if (err instanceof LimitExceededError) return as('limit_exceeded', err);
  if (err instanceof InvalidArgumentError) return as('invalid_request', err);
  if (err instanceof GraphError) return as('missing_vertex', err);
  if (err instanceof InsufficientRights) return as('insufficient_rights', err);
  return err;
}

/** Plain data within the limits task data has (the coordinator's `dataLimits`), else a MemoryError naming `field`. */
function checkValue(field: string, v: unknown): Value {
  try {
    validateValue(v, dataLimits);
  } catch (err) {
    throw fromCoreError(err, field);
  }
  return v as Value;
}

function checkAttrs(
  field: string,
  attrs: Record<string, unknown> | undefined,
): Record<string, Value> | undefined {
  if (attrs === undefined) return undefined;
  const out: Record<string, Value> = {};
  for (const [k, v] of Object.entries(attrs)) out[k] = checkValue(`${field}.${k}`, v);
  return out;
}

const invalid = (field: string, message: string): MemoryError =>
  new MemoryError('invalid_request', `${field}: ${message}`, field);

type Change = (target: MemberAccess) => void;
type OperationOf<T extends MemoryOperation['type']> = Extract<MemoryOperation, { type: T }>;

function planBoundedCounter(
  op: OperationOf<'boundedcounter'>,
  current: MemberAccess | undefined,
  self: string,
): Change {
  if (op.op === 'increment') return (t) => t.handle('boundedcounter').increment(op.by);
  if (op.op === 'transfer' && op.to === self)
    throw invalid('to', 'rights cannot be given to this node itself');
  const held = current?.handle('boundedcounter').rights() ?? 0;
  if (op.by > held) {
    throw new MemoryError(
      'insufficient_rights',
      `by: needs ${op.by} rights, this node holds ${held} (a node spends or gives only the rights it holds)`,
      'by',
    );
  }
  return (t) => {
    const counter = t.handle('boundedcounter');
    if (op.op === 'decrement') counter.decrement(op.by);
    else counter.transfer(op.to, op.by);
  };
}

function planGraph(op: OperationOf<'graph'>, current: MemberAccess | undefined): Change {
  switch (op.op) {
    case 'addVertex': {
      const attrs = checkAttrs('attrs', op.attrs);
      return (t) => t.handle('graph').addVertex(op.id, attrs);
    }
    case 'removeVertex':
      return (t) => t.handle('graph').removeVertex(op.id);
    case 'addEdge': {
      const attrs = checkAttrs('attrs', op.attrs);
      for (const field of ['from', 'to'] as const) {
        if (current?.handle('graph').hasVertex(op[field]) !== true) {
          throw new MemoryError(
            'missing_vertex',
            `${field}: no vertex ${JSON.stringify(op[field])} (add it first)`,
            field,
          );
        }
      }
      return (t) => t.handle('graph').addEdge(op.from, op.to, op.label ?? null, attrs);
    }
    case 'removeEdge':
      return (t) => t.handle('graph').removeEdge(op.from, op.to, op.label ?? null);
  }
}

function planTimeSeries(op: OperationOf<'timeseries'>): Change {
  if (op.op === 'retain') {
    // Peers refuse a mark ahead of their clocks.
    if (op.before > Date.now()) throw invalid('before', `${op.before} is ahead of this node's clock`);
    return (t) => t.handle('timeseries').retain(op.before);
  }
  op.points.forEach((p, i) => {
    if (!Number.isFinite(p.value)) throw invalid(`points.${i}.value`, 'expected a finite number');
  });
  return (t) => {
    const series = t.handle('timeseries');
    for (const p of op.points) series.append(p.series, p.value, p.at);
  };
}

function planText(op: OperationOf<'text'>, current: MemberAccess | undefined): Change {
  // Indexes count UTF-16 code units, as Yjs does.
  const length = current === undefined ? 0 : textOf(current.handle('text')).length;
  if (op.op === 'insert') {
    if (op.index > length) throw invalid('index', `past the end of the text (length ${length})`);
    return (t) => textOf(t.handle('text')).insert(op.index, op.text);
  }
  if (op.index + op.length > length)
    throw invalid('length', `index + length pass the end of the text (length ${length})`);
  return (t) => textOf(t.handle('text')).delete(op.index, op.length);
}

/**
 * Checks `op` against the member as it is (`current`, undefined when it does not exist yet) and
 * returns the change to make: every refusal a valid request can meet is raised here, before
 * anything changes, so that an operation is applied whole or not at all. `self` is this replica.
 */
export function planOperation(op: MemoryOperation, current: MemberAccess | undefined, self: string): Change {
  switch (op.type) {
    case 'lww':
    case 'mvregister': {
      const v = checkValue('value', op.value);
      return (t) => t.handle(op.type).set(v);
    }
    case 'orset': {
      const vs = op.values.map((v, i) => checkValue(`values.${i}`, v));
      return (t) => {
        const set = t.handle('orset');
        for (const v of vs) {
          if (op.op === 'add') set.add(v);
          else set.remove(v);
        }
      };
    }
    case 'pncounter':
      return (t) => {
        const counter = t.handle('pncounter');
        if (op.op === 'increment') counter.increment(op.by);
        else counter.decrement(op.by);
      };
    case 'boundedcounter':
      return planBoundedCounter(op, current, self);
    case 'graph':
      return planGraph(op, current);
    case 'timeseries':
      return planTimeSeries(op);
    case 'text':
      return planText(op, current);
  }
}
