// The failures that end start-up with a message instead of a stack trace, and the exit status
// each gives; shared by the command and by its cluster workers (worker-main.ts), whose messages
// reach the terminal through the primary.

import { ConfigError } from '../config/errors.js';
import type { LogSink, Logger } from '../log/logger.js';
import { WorkerStartError } from '../cluster/start-error.js';
import { TlsSetupError } from '../tls/credentials.js';
import { WrapCommandError } from '../wrap/command.js';
import { RebindUnavailableError } from '../wrap/rebind-library.js';

/** A usage error: the message and the pointer to --help on the terminal, status 2. */
export function usageFailure(message: string, terminal: LogSink): number {
  terminal('error', `websockify: error: ${message}`);
  terminal('error', "Try 'websockify --help' for more information.");
  return 2;
}

/** The listen socket could not be opened (EADDRINUSE, EACCES...). */
export class ListenError extends Error {}

/** Logs `err` and returns the exit status it means; rethrows anything unexpected. */
export function startupFailure(err: unknown, logger: Logger, terminal: LogSink): number {
  if (err instanceof ConfigError) return usageFailure(err.message, terminal);
  if (err instanceof ListenError) {
    logger.error(err.message);
    return 1;
  }
  if (err instanceof WrapCommandError) {
    logger.error(`websockify: ${err.message}`);
    return err.exitStatus;
  }
  if (err instanceof TlsSetupError || err instanceof RebindUnavailableError) {
    logger.error(`websockify: ${err.message}`);
    return 1;
  }
  // A worker said why already.
  if (err instanceof WorkerStartError) return err.status;
  throw err;
}
