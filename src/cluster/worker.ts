// A worker of a cluster (`--workers N`): it builds its server from what the primary sends, then
// serves the connections the primary hands it (WebsockifyServer.serveAccepted) and reports back
// what the primary's lifetime rules count: connections closed, sessions started and ended; it
// asks the primary for a place per upgrade when a connection limit is set. Its
// log lines go to the primary (log-relay.ts). Signals are the primary's to act on: SIGTERM,
// SIGINT and SIGHUP are ignored here (Ctrl-C reaches the whole process group), and the primary
// relays reloads, the drain and the close. If the primary goes away (killed), node:cluster
// ends the worker at once, so its clients see their connections drop, as those of one killed
// process do.

import type net from 'node:net';
import { createLogger, type Logger, type LogSink } from '../log/logger.js';
import type { WebsockifyServer } from '../server/websockify-server.js';
import { relaySink } from './log-relay.js';
import { isOurs, type FromWorker, type ToWorker } from './messages.js';
import { WorkerLimits } from './shared-limits.js';

/** What a worker runs, once built. */
export interface WorkerServer {
  server: WebsockifyServer;
  /** SIGHUP in the primary: read certificates and token files again. */
  reload(): void | Promise<void>;
  /** Closes the server (clients get 1001) and releases what it holds. */
  close(): Promise<void>;
}

/**
 * Builds the worker's server from the primary's `data`. Resolves to a number (the exit status)
 * when it cannot start, after logging why through `logger` or `terminal`.
 */
export type BuildWorker = (data: unknown, logger: Logger, terminal: LogSink) => Promise<WorkerServer | number>;

function send(message: FromWorker, done?: () => void): void {
  if (!process.connected || !process.send) {
    done?.();
    return;
  }
  process.send(message, undefined, {}, () => done?.());
}

/** Runs this process as a cluster worker; `build` makes its server. */
export function runWorker(build: BuildWorker): void {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => {});
  const terminal = relaySink(send, () => process.connected);
  let built: WorkerServer | undefined;
  let logger: Logger | undefined;
  let exiting = false;
  /** The connection limits, counted by the primary over every worker (asked only when set). */
  const limits = new WorkerLimits(send);
  const exit = async (status: number): Promise<void> => {
    if (exiting) return;
    exiting = true;
    await built?.close();
    // The last lines and the goodbye are written before the process ends.
    send({ type: 'websockify:exiting' }, () => process.exit(status));
  };

  const setup = async (message: Extract<ToWorker, { type: 'websockify:setup' }>): Promise<void> => {
    logger = createLogger({ verbose: message.verbose, sinks: [terminal] });
    let result: WorkerServer | number;
    try {
      result = await build(message.data, logger, terminal);
    } catch (err) {
      logger.error(`websockify: worker internal error: ${err instanceof Error ? err.stack : String(err)}`);
      result = 1;
    }
    if (typeof result === 'number') {
      send({ type: 'websockify:failed', status: result });
      await exit(result);
      return;
    }
    built = result;
    const { server } = result;
    server.on('upgrade', () => send({ type: 'websockify:upgrade' }));
    server.on('session-end', () => send({ type: 'websockify:session-end' }));
    server.serveAccepted(message.unixPeer, limits);
    send({ type: 'websockify:ready' });
  };

  const reload = async (w: WorkerServer): Promise<void> => {
    await w.reload();
    logger?.debug(`worker pid ${process.pid}: reloaded certificates and token files`);
  };

  process.on('message', (message: unknown, handle: unknown) => {
    if (!isOurs<ToWorker>(message)) return;
    switch (message.type) {
      case 'websockify:setup':
        void setup(message);
        return;
      case 'websockify:conn': {
        const socket = handle as net.Socket | undefined;
        if (!socket) {
          // The client went away while it was being handed over.
          send({ type: 'websockify:closed' });
          return;
        }
        socket.once('close', () => send({ type: 'websockify:closed' }));
        if (!built || exiting) socket.destroy();
        else built.server.accept(socket, message.id);
        return;
      }
      case 'websockify:reload':
        if (built) void reload(built);
        return;
      case 'websockify:stop-accepting':
        built?.server.stopAccepting(message.reason);
        return;
      case 'websockify:session-taken':
        built?.server.sessionTakenElsewhere();
        return;
      case 'websockify:admitted':
        limits.answered(message.ticket, message.verdict);
        return;
      case 'websockify:close':
        void exit(0);
        return;
      case 'websockify:drain':
        if (built && !exiting) void built.server.drain(message.seconds).then(() => exit(0));
        else void exit(0);
        return;
    }
  });
  send({ type: 'websockify:hello' });
}
