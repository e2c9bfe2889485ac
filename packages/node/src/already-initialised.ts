import { MeshworkError } from '@meshwork/core';

/** `meshwork init` found a config file in the data directory: it never overwrites one. */
export class AlreadyInitialisedError extends MeshworkError {
  override readonly name = 'AlreadyInitialisedError';
  constructor(message: string) {
    super('already_initialised', message, { field: 'dataDir' });
  }
}
