/** Raised for a config file or flag that is missing, unreadable or invalid; the message names each bad key. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly issues: readonly string[];
  constructor(issues: readonly string[]) {
    super(`invalid config: ${issues.join('; ')}`);
    this.issues = issues;
  }
}
