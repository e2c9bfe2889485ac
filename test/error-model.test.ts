import * as coordinator from '@meshwork/coordinator';
import * as core from '@meshwork/core';
import { MeshworkError } from '@meshwork/core';
import * as node from '@meshwork/node';
import * as transport from '@meshwork/transport';
import { describe, expect, it } from 'vitest';

type ErrorClass = abstract new (...args: never[]) => Error;

/** Every error class a package exports, by name. */
function errorClasses(exports: Record<string, unknown>): [string, ErrorClass][] {
  return Object.entries(exports).filter(
    (entry): entry is [string, ErrorClass] =>
      typeof entry[1] === 'function' && (entry[1] as { prototype: unknown }).prototype instanceof Error,
  );
}

const SNAKE_CASE = /^[a-z]+(_[a-z]+)*$/;

describe('one error model', () => {
  const packages = { core, transport, coordinator, node } as Record<string, Record<string, unknown>>;

  it.each(Object.keys(packages))('every error class @meshwork/%s exports is a MeshworkError', (name) => {
    const classes = errorClasses(packages[name]!);
    expect(classes.length).toBeGreaterThan(0);
    const outside = classes.filter(([, c]) => !(c.prototype instanceof MeshworkError) && c !== MeshworkError);
    expect(outside.map(([n]) => n)).toEqual([]);
  });

  it('errors carry a snake_case code, the field at fault and a message naming it', () => {
    const samples: MeshworkError[] = [
      new core.DecodeError('too_large', '9 MiB frame'),
      new core.LimitExceededError('maxValueDepth', 64, 'value nests deeper than 64'),
      new core.InsufficientRights(3, 1),
      new transport.MeshConfigError('listen[0]', 'not a multiaddr'),
      new coordinator.CoordinatorError('invalid_input', 'must be a string', 'type'),
      new node.ConfigError(['agents[0].capacity: must be >= 1']),
      new node.AddressInUseError('127.0.0.1:8080', 'http.port'),
      new node.WorkerError('stale_attempt', 'epoch 2 is not the current one', 'epoch'),
      new node.MemoryError('type_conflict', 'member is an orset', 'member'),
    ];
    for (const error of samples) {
      expect(error).toBeInstanceOf(MeshworkError);
      expect(error.code).toMatch(SNAKE_CASE);
      expect(error.name).toBe(error.constructor.name);
    }
    expect(samples.map((e) => e.field)).toEqual([
      undefined,
      undefined,
      undefined,
      'listen[0]',
      'type',
      'agents[0].capacity',
      'http.port',
      'epoch',
      'member',
    ]);
    expect(samples[4]!.message).toBe('type: must be a string');
  });
});
