import { MeshworkError } from '../meshwork-error.ts';

/** A mutator was given something that is not a storable {@link Value} (or a bad argument). */
export class InvalidArgumentError extends MeshworkError {
  override readonly name: string = 'InvalidArgumentError';
  constructor(message: string, code: 'invalid_argument' | 'limit_exceeded' = 'invalid_argument') {
    super(code, message);
  }
}

/** The limit of {@link DecodeLimits} (or the seq bound) a local write would break. */
export type LimitName =
  'maxValueDepth' | 'maxStringBytes' | 'maxEntries' | 'maxMessageBytes' | 'maxDepth' | 'maxSeq';

/**
 * A local write refused because peers (and this replica's own restore) would refuse what it
 * produces: nothing was changed. `limit` names the bound, `max` its value.
 */
export class LimitExceededError extends InvalidArgumentError {
  override readonly name = 'LimitExceededError';
  readonly limit: LimitName;
  readonly max: number;

  constructor(limit: LimitName, max: number, message: string) {
    super(message, 'limit_exceeded');
    this.limit = limit;
    this.max = max;
  }
}

/** A bounded-counter decrement or transfer asked for more than the replica's local rights. */
export class InsufficientRights extends MeshworkError {
  override readonly name = 'InsufficientRights';
  readonly requested: number;
  readonly available: number;

  constructor(requested: number, available: number) {
    super('insufficient_rights', `needs ${requested} rights, this replica holds ${available}`);
    this.requested = requested;
    this.available = available;
  }
}

/** A graph operation named a vertex that is not present. */
export class GraphError extends MeshworkError {
  override readonly name = 'GraphError';
  constructor(message: string) {
    super('missing_vertex', message);
  }
}

/** A type spec that cannot be used where it was given (e.g. a non-nestable ORMap value). */
export class TypeSpecError extends MeshworkError {
  override readonly name = 'TypeSpecError';
  constructor(message: string) {
    super('invalid_type_spec', message);
  }
}
