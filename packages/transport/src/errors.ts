/** An option passed to {@link createMeshNode} is invalid; `field` names it. */
export class MeshConfigError extends Error {
  readonly field: string;

  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'MeshConfigError';
    this.field = field;
  }
}

/** Another socket holds a listen address, so the node cannot start; `address` names it. */
export class ListenAddressInUseError extends Error {
  readonly address: string;

  constructor(address: string, options?: ErrorOptions) {
    super(`listen address ${address} is in use`, options);
    this.name = 'ListenAddressInUseError';
    this.address = address;
  }
}

/**
 * The first listen address that libp2p's start failure reports as in use. libp2p only lists the
 * failed addresses in its message, one `  <multiaddr>: <error>` line each.
 */
export function listenAddressInUse(err: unknown): string | undefined {
  if (!(err instanceof Error) || err.name !== 'UnsupportedListenAddressesError') return undefined;
  return /^\s*(\/\S+): .*\bEADDRINUSE\b/m.exec(err.message)?.[1];
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
