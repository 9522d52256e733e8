// The command line's side of the error taxonomy: UsageError (exit status 2), and how any
// library error is told on the command line. Library errors name option keys (`heartbeat`,
// `tls.key`); here each key becomes the flag of its row in the option table (`--heartbeat`,
// `--key`), and each error code an exit status.

import { rowOfKey } from '../config/option-table.js';
import { ConfigError, OptionDependencyError } from '../errors/config-error.js';
import { WebsockifyError, type ErrorCode } from '../errors/websockify-error.js';

/** A problem with the command line itself; `flag` is the flag or argument at fault. */
export class UsageError extends ConfigError {
  readonly flag: string | undefined;

  constructor(message: string, flag?: string, option?: string) {
    super(message, option, 'ERR_USAGE');
    this.name = 'UsageError';
    this.flag = flag;
  }
}

/** The flag of option `key` (`tls.key` is `--key`); a key without a row stays as it is. */
export function flagOf(key: string): string {
  const row = rowOfKey(key);
  return row ? `--${row.flag}` : key;
}

/** A library error's message with flags for option keys; dependencies in the reference's words. */
export function cliMessage(err: WebsockifyError): string {
  if (err instanceof OptionDependencyError) return `You must use ${flagOf(err.needed)} to use ${flagOf(err.option!)}`;
  return err.describe(flagOf);
}

/** A library error about the configuration as a UsageError naming the flag; others unchanged. */
export function asUsageError(err: unknown): unknown {
  if (err instanceof UsageError || !(err instanceof ConfigError)) return err;
  return new UsageError(cliMessage(err), err.option === undefined ? undefined : flagOf(err.option), err.option);
}

/** Exit statuses of the codes that do not mean a usage error (status 2). */
const EXIT_STATUS: Partial<Record<ErrorCode, number>> = { ERR_TLS_SETUP: 1 };

/** The exit status for a library error that ends start-up. */
export function exitStatusOf(err: WebsockifyError): number {
  return EXIT_STATUS[err.code] ?? 2;
}
