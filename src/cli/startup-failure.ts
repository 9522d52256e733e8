// The failures that end start-up with a message instead of a stack trace, and the exit status
// each gives; shared by the command and by its cluster workers (worker-main.ts), whose messages
// reach the terminal through the primary.

import { WorkerStartError } from '../cluster/start-error.js';
import { WebsockifyError } from '../errors/websockify-error.js';
import type { LogSink, Logger } from '../log/logger.js';
import { WrapCommandError } from '../wrap/command.js';
import { RebindUnavailableError } from '../wrap/rebind-library.js';
import { cliMessage, exitStatusOf } from './usage-error.js';

/** A usage error: the message and the pointer to --help on the terminal, status 2. */
export function usageFailure(message: string, terminal: LogSink): number {
  terminal('error', `websockify: error: ${message}`);
  terminal('error', "Try 'websockify --help' for more information.");
  return 2;
}

/** The listen socket could not be opened (EADDRINUSE, EACCES...). */
export class ListenError extends Error {}

/**
 * Logs `err` and returns the exit status it means (library errors name their option's flag,
 * configuration ones are usage errors, status 2); rethrows anything unexpected.
 */
export function startupFailure(err: unknown, logger: Logger, terminal: LogSink): number {
  if (err instanceof WebsockifyError) {
    const status = exitStatusOf(err);
    if (status === 2) return usageFailure(cliMessage(err), terminal);
    logger.error(`websockify: ${cliMessage(err)}`);
    return status;
  }
  if (err instanceof ListenError) {
    logger.error(err.message);
    return 1;
  }
  if (err instanceof WrapCommandError || err instanceof RebindUnavailableError) {
    logger.error(`websockify: ${err.message}`);
    return err instanceof WrapCommandError ? err.exitStatus : 1;
  }
  // A worker said why already.
  if (err instanceof WorkerStartError) return err.status;
  throw err;
}
