/** An option passed to {@link createMeshNode} is invalid; `field` names it. */
export class MeshConfigError extends Error {
  readonly field: string;

  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'MeshConfigError';
    this.field = field;
  }
}

/** The identity key file could not be read, parsed or written. */
export class KeyFileError extends Error {
  readonly path: string;

  constructor(path: string, message: string, options?: ErrorOptions) {
    super(`${path}: ${message}`, options);
    this.name = 'KeyFileError';
    this.path = path;
  }
}

/** The node was used after {@link MeshNode.stop}. */
export class MeshStoppedError extends Error {
  constructor(what: string) {
    super(`${what}: the mesh node is stopped`);
    this.name = 'MeshStoppedError';
  }
}
