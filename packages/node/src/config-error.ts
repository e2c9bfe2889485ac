import { MeshworkError } from '@meshwork/core';

/** Raised for a config file or flag that is missing, unreadable or invalid; the message names each bad key. */
export class ConfigError extends MeshworkError {
  override readonly name = 'ConfigError';
  readonly issues: readonly string[];
  constructor(issues: readonly string[]) {
    // The field of the first issue (`agents[0].capacity: …`), when it names one.
    const field = /^([\w.[\]-]+): /.exec(issues[0] ?? '')?.[1];
    super('invalid_config', `invalid config: ${issues.join('; ')}`, {
      ...(field !== undefined && { field }),
    });
    this.issues = issues;
  }
}
