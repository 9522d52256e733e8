// The messages between a cluster primary and its workers (`--workers N`), over node:cluster's
// IPC channel. Every one is an object whose `type` starts with `websockify:`, so they never
// collide with other users of the channel (prom-client's cluster metrics use `prom-client:`,
// and node:cluster's own messages travel apart, as internal messages). A connection is sent
// with its socket as the message's handle.

import type { LogFields, LogLevel } from '../log/logger.js';
import type { LimitRefusal } from '../server/limits.js';

/** Primary to worker. */
export type ToWorker =
  /** First message: what to build the worker's server from. */
  | { type: 'websockify:setup'; verbose: boolean; unixPeer: string | undefined; data: unknown }
  /** An accepted connection (its socket is the handle), numbered by the primary. */
  | { type: 'websockify:conn'; id: number }
  /** SIGHUP: read certificates and token files again. */
  | { type: 'websockify:reload' }
  /** --timeout fired: take no new connections, finish the open sessions. */
  | { type: 'websockify:stop-accepting'; reason: string }
  /** --run-once: another worker started the one session; refuse further upgrades. */
  | { type: 'websockify:session-taken' }
  /** Stop: close every client with 1001, then exit. */
  | { type: 'websockify:close' }
  /** SIGTERM with --drain-seconds: drain for up to `seconds` (server.drain()), close, then exit. */
  | { type: 'websockify:drain'; seconds: number }
  /** The answer to an admit: a place was taken, or which connection limit is full. */
  | { type: 'websockify:admitted'; ticket: number; verdict: 'ok' | LimitRefusal };

/** A log entry on its way to the primary's sinks (the time as milliseconds since the epoch). */
export interface RelayedEntry {
  time: number;
  level: LogLevel;
  message: string;
  fields?: LogFields;
}

/** Worker to primary. */
export type FromWorker =
  /** Listening for messages now (earlier ones would be lost): send the setup. */
  | { type: 'websockify:hello' }
  /** The server is built and takes connections. */
  | { type: 'websockify:ready' }
  /** Building the server failed (already logged); the worker exits with `status`. */
  | { type: 'websockify:failed'; status: number }
  /** A log line for the primary to write (`entry` absent: text to print as it is). */
  | { type: 'websockify:log'; level: LogLevel; line: string; entry?: RelayedEntry }
  /** A connection handed to this worker closed. */
  | { type: 'websockify:closed' }
  /** A WebSocket session started. */
  | { type: 'websockify:upgrade' }
  /** A WebSocket session ended. */
  | { type: 'websockify:session-end' }
  /** Closed after a close message; the worker exits next. */
  | { type: 'websockify:exiting' }
  /** --max-connections: may an upgrade from `address` take a place? (shared-limits.ts) */
  | { type: 'websockify:admit'; ticket: number; address: string }
  /** The socket of an admitted upgrade closed: its place is free. */
  | { type: 'websockify:release'; ticket: number };

const PREFIX = 'websockify:';

/** True for a message of ours (anything else on the channel is someone else's). */
export function isOurs<T extends { type: string }>(message: unknown): message is T {
  return (
    typeof message === 'object' &&
    message !== null &&
    typeof (message as { type?: unknown }).type === 'string' &&
    (message as { type: string }).type.startsWith(PREFIX)
  );
}
