import { MeshworkError } from '@meshwork/core';

/** Another process holds an address the daemon must listen on, so it cannot start. */
export class AddressInUseError extends MeshworkError {
  override readonly name = 'AddressInUseError';
  /** The address in use: a multiaddr for the mesh, host:port for the HTTP API. */
  readonly address: string;
  /** The config key that chose it. */
  readonly setting: string;
  constructor(address: string, setting: string, options?: ErrorOptions) {
    super('address_in_use', `listen address ${address} is in use (set ${setting})`, {
      field: setting,
      cause: options?.cause,
    });
    this.address = address;
    this.setting = setting;
  }
}
