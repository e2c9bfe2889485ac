/** `meshwork init` found a config file in the data directory: it never overwrites one. */
export class AlreadyInitialisedError extends Error {
  override readonly name = 'AlreadyInitialisedError';
}
