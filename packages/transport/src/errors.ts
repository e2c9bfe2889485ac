import { MeshworkError } from '@meshwork/core';

/** An option passed to {@link createMeshNode} is invalid; `field` names it. */
export class MeshConfigError extends MeshworkError {
  override readonly name = 'MeshConfigError';
  declare readonly field: string;

  constructor(field: string, message: string) {
    super('invalid_option', `${field}: ${message}`, { field });
  }
}

/** Another socket holds a listen address, so the node cannot start; `address` names it. */
export class ListenAddressInUseError extends MeshworkError {
  override readonly name = 'ListenAddressInUseError';
  readonly address: string;

  constructor(address: string, options?: ErrorOptions) {
    super('address_in_use', `listen address ${address} is in use`, {
      field: 'listen',
      cause: options?.cause,
    });
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
export class KeyFileError extends MeshworkError {
  override readonly name = 'KeyFileError';
  readonly path: string;

  constructor(path: string, message: string, options?: ErrorOptions) {
    super('key_file', `${path}: ${message}`, { field: 'keyFile', cause: options?.cause });
    this.path = path;
  }
}

/** The node was used after {@link MeshNode.stop}. */
export class MeshStoppedError extends MeshworkError {
  override readonly name = 'MeshStoppedError';
  constructor(what: string) {
    super('stopped', `${what}: the mesh node is stopped`);
  }
}
