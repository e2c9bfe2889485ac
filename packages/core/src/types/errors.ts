/** A mutator was given something that is not a storable {@link Value} (or a bad argument). */
export class InvalidArgumentError extends TypeError {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidArgumentError';
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
  readonly limit: LimitName;
  readonly max: number;

  constructor(limit: LimitName, max: number, message: string) {
    super(message);
    this.name = 'LimitExceededError';
    this.limit = limit;
    this.max = max;
  }
}

/** A bounded-counter decrement or transfer asked for more than the replica's local rights. */
export class InsufficientRights extends Error {
  readonly requested: number;
  readonly available: number;

  constructor(requested: number, available: number) {
    super(`needs ${requested} rights, this replica holds ${available}`);
    this.name = 'InsufficientRights';
    this.requested = requested;
    this.available = available;
  }
}

/** A graph operation named a vertex that is not present. */
export class GraphError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GraphError';
  }
}

/** A type spec that cannot be used where it was given (e.g. a non-nestable ORMap value). */
export class TypeSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TypeSpecError';
  }
}
