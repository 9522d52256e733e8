// The command line's error type: a ConfigError that the CLI reports with exit status 2.

import { ConfigError } from '../config/errors.js';

export class UsageError extends ConfigError {
  override readonly name = 'UsageError';
}
