// Typed errors for configuration problems. A ConfigError names the option or argument that was
// wrong, so the CLI can print it and exit with status 2 without parsing messages.

export class ConfigError extends Error {
  /** The flag or positional the problem is about, e.g. "--timeout" or "target". */
  readonly option: string | undefined;

  constructor(message: string, option?: string) {
    super(message);
    this.name = 'ConfigError';
    this.option = option;
  }
}
